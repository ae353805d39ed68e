"""The session policy Cognito adds to unauthenticated identities' enhanced-flow sessions.

Developer Guide, "IAM roles" (Access policies, "scope-down policy"): guest credentials
from GetCredentialsForIdentity are the intersection of the unauthenticated role's
policies and this list of services, whatever the role allows. (The basic flow,
GetOpenIdToken then AssumeRoleWithWebIdentity, is not scoped down.) AWS publishes a newer
variant as the managed policy AmazonCognitoUnAuthedIdentitiesSessionPolicy; this is the
list the Developer Guide gives, which keeps s3 and execute-api, the services OpenSTS fronts.
"""

from __future__ import annotations

import json

UNAUTHENTICATED_ACTIONS = (
    "cloudwatch:*", "logs:*", "dynamodb:*", "kinesis:*", "mobileanalytics:*", "s3:*",
    "ses:*", "sns:*", "sqs:*", "lambda:*", "machinelearning:*", "execute-api:*", "iot:*",
    "gamelift:*", "cognito-identity:*", "cognito-idp:*", "lex:*", "polly:*",
    "comprehend:*", "translate:*", "transcribe:*", "rekognition:*", "mobiletargeting:*",
    "firehose:*", "appsync:*", "personalize:*", "sagemaker:InvokeEndpoint",
    "cognito-sync:*", "codewhisperer:*", "textract:DetectDocumentText",
    "textract:AnalyzeDocument", "sdb:*",
)

UNAUTHENTICATED_SESSION_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(UNAUTHENTICATED_ACTIONS), "Resource": "*"}
        ],
    },
    separators=(",", ":"),
)
