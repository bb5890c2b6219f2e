"""``dynamodb://TABLE``: the store in one DynamoDB table, shared by every Lambda container.

The table (template.yaml) has a string partition key ``pk``, a string sort key ``sk`` and TTL
on the number attribute ``expires_at`` (Unix seconds). Items:

| pk | sk | what |
|---|---|---|
| ``update#<bot id>:<update id>`` | ``update`` | a claim: ``state``, ``owner``, ``lease_until`` |
| ``rate#<user hash>`` | ``rate`` | rate windows, ``version`` for compare-and-set |
| ``user#<user hash>`` | ``answer#<answer id>`` | an answer and its feedback |

Every decision is a conditional write, so two containers never both claim an update or both
rate an answer. DynamoDB deletes expired items only eventually (within days), so conditions and
reads compare ``expires_at`` with the clock themselves. boto3 is imported on first use: it is in
the Lambda base image and in the ``dev`` extra, not in requirements.txt.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bot.store.base import AnswerRecord, Backend, ClaimOutcome, RateState, Rating, StoreError

PK, SK, TTL_ATTRIBUTE = "pk", "sk", "expires_at"
UPDATE_SK, RATE_SK = "update", "rate"
ANSWER_PREFIX = "answer#"
BATCH_SIZE = 25  # BatchWriteItem's limit


def _number(value: float) -> dict[str, str]:
    return {"N": format(Decimal(str(round(value, 3))), "f")}


def _ttl(value: float) -> dict[str, str]:
    return {"N": str(int(value) + 1)}  # TTL wants whole seconds; never earlier than asked


class DynamoDBBackend(Backend):
    kind = "dynamodb"

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        timeout: float = 2.0,
        client: Any = None,
    ) -> None:
        self.table = table
        self._region = region
        self._endpoint = endpoint
        self._timeout = timeout
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - boto3 is in the Lambda image and dev
            raise StoreError("dynamodb:// needs boto3 (pip install boto3)") from exc
        config = Config(
            connect_timeout=self._timeout,
            read_timeout=self._timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=32,
        )
        return boto3.session.Session().client(
            "dynamodb", region_name=self._region, endpoint_url=self._endpoint, config=config
        )

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One API call; botocore's errors become StoreError, except a failed condition."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise _ConditionFailed(exc.response.get("Item")) from None
            code = exc.response.get("Error", {}).get("Code", "?")
            raise StoreError(f"DynamoDB {operation}: {code}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"DynamoDB {operation}: {type(exc).__name__}") from exc

    # ----- once-only updates
    def claim_update(self, key: str, owner: str, now: float, lease_until: float) -> ClaimOutcome:
        item = {
            PK: {"S": f"update#{key}"},
            SK: {"S": UPDATE_SK},
            "state": {"S": "busy"},
            "owner": {"S": owner},
            "lease_until": _number(lease_until),
            TTL_ATTRIBUTE: _ttl(lease_until),
        }
        try:
            self._call(
                "put_item",
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(pk) OR expires_at <= :now OR "
                    "(#state = :busy AND (lease_until <= :now OR #owner = :owner))"
                ),
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":now": _number(now),
                    ":busy": {"S": "busy"},
                    ":owner": {"S": owner},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except _ConditionFailed as failed:
            old = failed.item
            if old is None:  # an implementation that does not return it
                old = self._call("get_item", Key=self._update_key(key), ConsistentRead=True).get(
                    "Item"
                )
            state = (old or {}).get("state", {}).get("S")
            return ClaimOutcome.DONE if state == "done" else ClaimOutcome.BUSY
        return ClaimOutcome.CLAIMED

    @staticmethod
    def _update_key(key: str) -> dict[str, Any]:
        return {PK: {"S": f"update#{key}"}, SK: {"S": UPDATE_SK}}

    def finish_update(self, key: str, owner: str, expires_at: float) -> None:
        # A failed condition: taken over after our lease ran out; the new owner finishes it.
        with contextlib.suppress(_ConditionFailed):
            self._call(
                "update_item",
                Key=self._update_key(key),
                UpdateExpression="SET #state = :done, expires_at = :ttl",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":done": {"S": "done"},
                    ":ttl": _ttl(expires_at),
                    ":owner": {"S": owner},
                },
            )

    def release_update(self, key: str, owner: str) -> None:
        with contextlib.suppress(_ConditionFailed):  # not ours (any more): leave it
            self._call(
                "delete_item",
                Key=self._update_key(key),
                ConditionExpression="#owner = :owner AND #state = :busy",
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":busy": {"S": "busy"}},
            )

    # ----- rate windows
    @staticmethod
    def _rate_key(key: str) -> dict[str, Any]:
        return {PK: {"S": f"rate#{key}"}, SK: {"S": RATE_SK}}

    def read_rate(self, key: str) -> tuple[RateState | None, int]:
        item = self._call("get_item", Key=self._rate_key(key), ConsistentRead=True).get("Item")
        if item is None:
            return None, 0
        return RateState.from_dict(json.loads(item["state"]["S"])), int(item["version"]["N"])

    def write_rate(self, key: str, state: RateState, version: int, expires_at: float) -> bool:
        item = {
            **self._rate_key(key),
            "version": {"N": str(version + 1)},
            "state": {"S": json.dumps(state.to_dict())},
            TTL_ATTRIBUTE: _ttl(expires_at),
        }
        if version == 0:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "version = :version", {":version": {"N": str(version)}}
        try:
            self._call(
                "put_item",
                Item=item,
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except _ConditionFailed:
            return False
        return True

    # ----- answers and feedback
    @staticmethod
    def _answer_key(user_hash: str, answer_id: str) -> dict[str, Any]:
        return {PK: {"S": f"user#{user_hash}"}, SK: {"S": ANSWER_PREFIX + answer_id}}

    def put_answer(self, record: AnswerRecord) -> None:
        item: dict[str, Any] = {
            **self._answer_key(record.user_hash, record.answer_id),
            "record": {"S": json.dumps(record.to_dict())},
            TTL_ATTRIBUTE: _ttl(record.expires_at),
            "expires_exact": _number(record.expires_at),
        }
        for name in ("verdict", "correction"):
            value = getattr(record, name)
            if value is not None:
                item[name] = {"S": value}
        if record.rated_at is not None:
            item["rated_at"] = _number(record.rated_at)
        self._call("put_item", Item=item)

    @staticmethod
    def _record(item: dict[str, Any]) -> AnswerRecord:
        data = json.loads(item["record"]["S"])
        data["verdict"] = item.get("verdict", {}).get("S")
        data["correction"] = item.get("correction", {}).get("S")
        rated_at = item.get("rated_at", {}).get("N")
        data["rated_at"] = None if rated_at is None else float(rated_at)
        data["expires_at"] = float(item.get("expires_exact", item[TTL_ATTRIBUTE])["N"])
        return AnswerRecord.from_dict(data)

    def get_answer(self, user_hash: str, answer_id: str, now: float) -> AnswerRecord | None:
        item = self._call(
            "get_item", Key=self._answer_key(user_hash, answer_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        record = self._record(item)
        return record if record.expires_at > now else None

    def rate_answer(self, user_hash: str, answer_id: str, rating: Rating, now: float) -> bool:
        values: dict[str, Any] = {
            ":verdict": {"S": rating.verdict},
            ":rated": _number(rating.rated_at),
            ":ttl": _ttl(rating.expires_at),
            ":exact": _number(rating.expires_at),
            ":now": _number(now),
        }
        update = (
            "SET verdict = :verdict, rated_at = :rated, expires_at = :ttl, expires_exact = :exact"
        )
        if rating.correction is not None:
            update += ", correction = :correction"
            values[":correction"] = {"S": rating.correction}
        condition = (
            "attribute_exists(pk) AND expires_exact > :now AND attribute_not_exists(correction)"
        )
        if rating.expect_verdict is None:
            condition += " AND attribute_not_exists(verdict)"
        else:
            condition += " AND verdict = :expected"
            values[":expected"] = {"S": rating.expect_verdict}
        try:
            self._call(
                "update_item",
                Key=self._answer_key(user_hash, answer_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False
        return True

    def delete_user(self, user_hash: str) -> int:
        keys: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :answer)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"user#{user_hash}"},
                ":answer": {"S": ANSWER_PREFIX},
            },
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        while True:
            page = self._call("query", **request)
            keys.extend({PK: item[PK], SK: item[SK]} for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for start in range(0, len(keys), BATCH_SIZE):
            self._delete_batch(keys[start : start + BATCH_SIZE])
        return len(keys)

    def _delete_batch(self, keys: list[dict[str, Any]]) -> None:
        pending = [{"DeleteRequest": {"Key": key}} for key in keys]
        for attempt in range(6):
            try:
                result = self.client.batch_write_item(RequestItems={self.table: pending})
            except Exception as exc:  # botocore raises several families
                raise StoreError(f"DynamoDB batch_write_item: {type(exc).__name__}") from exc
            pending = result.get("UnprocessedItems", {}).get(self.table, [])
            if not pending:
                return
            time.sleep(0.05 * 2**attempt)  # throttled: DynamoDB asks to back off
        raise StoreError(f"DynamoDB kept {len(pending)} deletions unprocessed")

    def scan_answers(self, now: float) -> Iterator[AnswerRecord]:
        request: dict[str, Any] = {
            "FilterExpression": "begins_with(sk, :answer) AND expires_exact > :now",
            "ExpressionAttributeValues": {":answer": {"S": ANSWER_PREFIX}, ":now": _number(now)},
        }
        while True:
            page = self._call("scan", **request)
            for item in page.get("Items", []):
                yield self._record(item)
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ----- upkeep
    def ping(self) -> None:
        self._call("get_item", Key={PK: {"S": "ping"}, SK: {"S": "ping"}})

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


class _ConditionFailed(Exception):
    """A conditional write lost (not an error: the answer to "was I first?")."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item
