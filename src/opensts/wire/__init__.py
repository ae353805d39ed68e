"""Wire protocols: AWS query (form in, XML out) and AWS JSON 1.1, with their error envelopes."""
