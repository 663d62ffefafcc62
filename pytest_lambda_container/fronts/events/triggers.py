"""Events of the common non-HTTP triggers (SQS, SNS, S3, EventBridge, schedules), shaped like the ones AWS sends.

Each builder returns a complete event for `invoke_event`; names and accounts are fixed sample values, the region is
us-east-1 unless `region=` says otherwise (e.g. the function's `--lambda-region`), while ids, receipt handles and
times are fresh on every call, as AWS gives each delivery its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Union
from urllib.parse import quote_plus

from .base import ACCOUNT_ID, REGION, now_ms

#: A message or body: text as it is, anything else JSON-encoded.
Payload = Union[str, Mapping[str, Any], Sequence[Any], int, float, bool, None]
#: A message attribute value: `str` is a String, a number a Number, `bytes` a Binary attribute.
AttributeValue = Union[str, int, float, bytes]


def _text(payload: Payload) -> str:
    """A message body as SQS and SNS carry it: a string, JSON-encoded unless it already is one."""
    return payload if isinstance(payload, str) else json.dumps(payload)


def _payloads(payloads: Sequence[Payload], builder: str) -> list[str]:
    if isinstance(payloads, (str, bytes, Mapping)):
        raise TypeError(f"{builder}() takes a list of messages; wrap a single one: {builder}([message])")
    return [_text(payload) for payload in payloads]


def _iso(epoch_ms: int, *, millis: bool = True) -> str:
    """UTC ISO 8601 time the way AWS writes it: `2019-01-02T12:45:07.000Z`, or without milliseconds."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _attribute_type(value: AttributeValue) -> str:
    if isinstance(value, bytes):
        return "Binary"
    if isinstance(value, str):
        return "String"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "Number"
    raise TypeError(f"a message attribute must be str, int, float or bytes, not {type(value).__name__}")


def sqs_message_attributes(attributes: Mapping[str, AttributeValue]) -> dict[str, dict[str, Any]]:
    """SQS `messageAttributes` as Lambda receives them: `{name: {stringValue | binaryValue, dataType, ...}}`."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        data_type = _attribute_type(value)
        attribute: dict[str, Any]
        if isinstance(value, bytes):
            attribute = {"binaryValue": base64.b64encode(value).decode("ascii")}
        else:
            attribute = {"stringValue": value if isinstance(value, str) else str(value)}
        attribute.update(stringListValues=[], binaryListValues=[], dataType=data_type)
        out[name] = attribute
    return out


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes (names sorted; length-prefixed name, type, transport byte and value)."""

    def field(data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + data

    digest = hashlib.md5()
    for name in sorted(attributes):
        attribute = attributes[name]
        digest.update(field(name.encode("utf-8")) + field(str(attribute["dataType"]).encode("utf-8")))
        if "binaryValue" in attribute:
            digest.update(b"\x02" + field(base64.b64decode(attribute["binaryValue"])))
        else:
            digest.update(b"\x01" + field(str(attribute["stringValue"]).encode("utf-8")))
    return digest.hexdigest()


def sqs_event(
    bodies: Sequence[Payload],
    *,
    queue: str = "my-queue",
    attributes: Mapping[str, AttributeValue] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """An SQS batch: one record per body (non-strings JSON-encoded), each with its own messageId and md5OfBody.

    `attributes` become every record's `messageAttributes` (str → String, number → Number, bytes → Binary).
    A queue name ending in `.fifo` gets the FIFO attributes (MessageGroupId, MessageDeduplicationId, ...).
    """
    texts = _payloads(bodies, "sqs_event")
    region = region or REGION
    fifo = queue.endswith(".fifo")
    sent = now_ms()
    records: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        body_md5 = hashlib.md5(text.encode("utf-8")).hexdigest()
        message_attributes = sqs_message_attributes(attributes or {})
        # In the order AWS lists them; FIFO queues add their four in between.
        system: dict[str, str] = {"ApproximateReceiveCount": "1", "SentTimestamp": str(sent)}
        if fifo:
            system["SequenceNumber"] = f"{sent * 1000 + index:020d}"
            system["MessageGroupId"] = "default"
        system["SenderId"] = ACCOUNT_ID
        if fifo:
            system["MessageDeduplicationId"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        system["ApproximateFirstReceiveTimestamp"] = str(sent + 1)
        record: dict[str, Any] = {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "AQEB" + base64.b64encode(secrets.token_bytes(96)).decode("ascii"),
            "body": text,
            "attributes": system,
            "messageAttributes": message_attributes,
            "md5OfBody": body_md5,
        }
        if message_attributes:
            record["md5OfMessageAttributes"] = md5_of_message_attributes(message_attributes)
        record.update(
            eventSource="aws:sqs",
            eventSourceARN=f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue}",
            awsRegion=region,
        )
        records.append(record)
    return {"Records": records}


def sns_event(
    messages: Sequence[Payload],
    *,
    topic: str = "my-topic",
    subject: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """SNS notifications, one record per message (non-strings JSON-encoded); `Subject` is null without a subject.

    `attributes` become `MessageAttributes` (`{"Type": "String" | "Number" | "Binary", "Value": ...}`).
    """
    texts = _payloads(messages, "sns_event")
    region = region or REGION
    topic_arn = f"arn:aws:sns:{region}:{ACCOUNT_ID}:{topic}"
    message_attributes: dict[str, dict[str, str]] = {}
    for name, value in (attributes or {}).items():
        shown = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value)
        message_attributes[name] = {"Type": _attribute_type(value), "Value": shown}
    cert = f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{'0' * 32}.pem"
    timestamp = _iso(now_ms())
    records: list[dict[str, Any]] = []
    for text in texts:
        subscription_arn = f"{topic_arn}:{uuid.uuid4()}"
        records.append(
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": timestamp,
                    "Signature": base64.b64encode(secrets.token_bytes(256)).decode("ascii"),
                    "SigningCertUrl": cert,
                    "MessageId": str(uuid.uuid4()),
                    "Message": text,
                    "MessageAttributes": {name: dict(value) for name, value in message_attributes.items()},
                    "Type": "Notification",
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                    ),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                },
            }
        )
    return {"Records": records}


def s3_event(
    keys: Sequence[str],
    *,
    bucket: str = "my-bucket",
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    region: str | None = None,
) -> dict[str, Any]:
    """S3 notifications, one record per key; keys are URL-encoded as S3 sends them (`my file.txt` → `my+file.txt`).

    `ObjectRemoved:*` records carry no `size` or `eTag`, as on AWS.
    """
    if isinstance(keys, str):
        raise TypeError("s3_event() takes a list of keys; wrap a single one: s3_event([key])")
    epoch = now_ms()
    removed = event_name.startswith("ObjectRemoved")
    records: list[dict[str, Any]] = []
    for index, key in enumerate(keys):
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not removed:
            obj["size"] = size
            obj["eTag"] = hashlib.md5(f"{bucket}/{key}".encode()).hexdigest()
        obj["sequencer"] = f"{time.time_ns() + index:018X}"
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region or REGION,
                "eventTime": _iso(epoch),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLEPRINCIPAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": secrets.token_hex(8).upper(),
                    "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "notification-config",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3EXAMPLEOWNER"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        )
    return {"Records": records}


def eventbridge_event(
    detail: Mapping[str, Any],
    *,
    detail_type: str = "MyEvent",
    source: str = "my.app",
    resources: Sequence[str] = (),
    region: str | None = None,
) -> dict[str, Any]:
    """An EventBridge event: the standard envelope (version 0, fresh id and time) around `detail`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": _iso(now_ms(), millis=False),
        "region": region or REGION,
        "resources": list(resources),
        "detail": dict(detail),
    }


def scheduled_event(*, rule: str = "my-schedule", region: str | None = None) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends: `Scheduled Event` from `aws.events`, empty detail."""
    return eventbridge_event(
        {},
        detail_type="Scheduled Event",
        source="aws.events",
        resources=[f"arn:aws:events:{region or REGION}:{ACCOUNT_ID}:rule/{rule}"],
        region=region,
    )
