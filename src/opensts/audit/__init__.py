"""CloudTrail-format audit log: every API call, success or failure, written durably."""
