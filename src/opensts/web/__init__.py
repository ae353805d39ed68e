"""The HTTP face of OpenSTS: one ASGI app serving the AWS APIs, health and sign-in pages."""
