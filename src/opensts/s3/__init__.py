"""Amazon S3's REST protocol, pure: addressing, operations, the IAM action map, conditions,
errors and the XML bodies. No I/O; the gateway that proxies to a backend is in ``web/s3/``."""
