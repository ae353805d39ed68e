"""IAM Access Analyzer: zone-of-trust and unused-access analysis (pure)."""
