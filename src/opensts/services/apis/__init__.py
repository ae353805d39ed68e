"""APIs of the HTTP authorizer (issue 11): their decisions, on the IAM engine."""
