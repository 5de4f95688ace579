"""Object store client (boto3), identical on AWS S3, MinIO and SeaweedFS.

Every object is stored with its SHA-256 in the ``sha256`` metadata field, computed before the
upload; each part carries a Content-MD5 the server checks, and every download is hashed again and
compared, so a byte changed anywhere between disk, network and store is caught.
"""

from __future__ import annotations

import base64
import hashlib
import math
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.core.errors import ChecksumMismatch, NotFound, StorageError
from infra.core.settings import MIB, StorageSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import LifecycleRuleTypeDef

# Python's mimetypes maps .ts to Qt Linguist on some systems and lacks the streaming types.
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".mpd": "application/dash+xml",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".json": "application/json",
    ".mov": "video/quicktime",
    ".mxf": "application/mxf",
}

_MAX_PARTS = 10_000
_HASH_BLOCK = 4 * MIB


UNFINISHED_UPLOADS_RULE = "vantage-abort-unfinished-uploads"
"""The ID of the bucket lifecycle rule Vantage adds (and replaces, never another)."""
_NO_LIFECYCLE = frozenset({"NotImplemented", "MalformedXML", "InvalidRequest", "AccessDenied"})


def content_type_for(key: str) -> str:
    suffix = Path(key).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(key)
    return guessed or "application/octet-stream"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def part_size_for(size: int, minimum_mib: int) -> int:
    """Part size: ``minimum_mib`` (16-64 MiB), larger only to stay under 10,000 parts."""
    size_per_part = math.ceil(size / _MAX_PARTS)
    part = max(minimum_mib * MIB, size_per_part)
    if part > 64 * MIB:
        raise StorageError(f"object of {size} bytes needs parts over 64 MiB")
    return part


@dataclass(frozen=True)
class StoredObject:
    key: str
    size_bytes: int
    sha256: str
    content_type: str


class ObjectStore:
    """The bucket Vantage keeps every byte in."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._client = self._make_client(settings.endpoint_url)
        self._signer = (
            self._make_client(settings.public_endpoint_url)
            if settings.public_endpoint_url
            else self._client
        )

    def _make_client(self, endpoint: str | None) -> S3Client:
        config = Config(
            s3={"addressing_style": "path" if endpoint else "auto"},
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            # Our own SHA-256 covers integrity; the SDK's default CRC trailers are not
            # understood by every S3-compatible store.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=self.settings.region,
            aws_access_key_id=self.settings.access_key,
            aws_secret_access_key=self.settings.secret_key,
            config=config,
        )
        events = client.meta.events
        events.register("after-call.s3", _count_server_errors)
        events.register("after-call-error.s3", _count_unanswered)
        return client

    # -- bucket --------------------------------------------------------------------------------

    def ensure_bucket(self) -> bool:
        """Create the bucket if it does not exist; return True when it was created."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if _status(exc) not in (404, 400):
                raise StorageError(f"bucket {self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"object store unreachable: {exc}") from exc
        try:
            self._client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StorageError(f"cannot create bucket {self.bucket}: {exc}") from exc
        return True

    def expire_unfinished_uploads(self, days: int) -> bool:
        """Have the store abort multipart uploads left unfinished for ``days`` (a worker killed
        mid-upload leaves its parts, billed and invisible): a lifecycle rule of the bucket,
        added beside the rules the operator has. False when the store keeps no lifecycle rules
        (``vantage storage verify --repair`` aborts them instead)."""
        ours: LifecycleRuleTypeDef = {
            "ID": UNFINISHED_UPLOADS_RULE,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
        }
        try:
            try:
                answer = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
                rules = [r for r in answer["Rules"] if r.get("ID") != UNFINISHED_UPLOADS_RULE]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                    raise
                rules = []
            self._client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket,
                LifecycleConfiguration={"Rules": [*rules, ours]},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _NO_LIFECYCLE or _status(exc) in (405, 501):
                return False
            raise StorageError(f"setting the bucket's lifecycle rule failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"object store unreachable: {exc}") from exc
        return True

    def allow_cross_origin_reads(self, origins: list[str]) -> None:
        """Let players on ``origins`` read presigned GETs (segments a signed playlist redirects
        to); no origins removes the rule."""
        try:
            if not origins:
                self._client.delete_bucket_cors(Bucket=self.bucket)
                return
            self._client.put_bucket_cors(
                Bucket=self.bucket,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedOrigins": origins,
                            "AllowedMethods": ["GET", "HEAD"],
                            "AllowedHeaders": ["Range"],
                            "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"],
                            "MaxAgeSeconds": 600,
                        }
                    ]
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"setting the bucket's CORS rule failed: {exc}") from exc

    def check(self) -> None:
        """Raise :class:`StorageError` unless the bucket answers."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"bucket {self.bucket} not reachable: {exc}") from exc

    # -- objects -------------------------------------------------------------------------------

    def put_file(
        self, path: Path, key: str, *, sha256: str | None = None, content_type: str | None = None
    ) -> StoredObject:
        """Upload ``path`` to ``key``; multipart (16-64 MiB parts) above one part's size."""
        size = path.stat().st_size
        digest = sha256 or sha256_file(path)
        ctype = content_type or content_type_for(key)
        part_size = part_size_for(size, self.settings.part_size_mib)
        try:
            if size <= part_size:
                body = path.read_bytes()
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=ctype,
                    ContentMD5=_md5(body),
                    Metadata={"sha256": digest},
                )
            else:
                self._multipart(path, key, part_size, ctype, digest)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"upload of {key} failed: {exc}") from exc
        return StoredObject(key=key, size_bytes=size, sha256=digest, content_type=ctype)

    def _multipart(self, path: Path, key: str, part_size: int, ctype: str, digest: str) -> None:
        upload = self._client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=ctype, Metadata={"sha256": digest}
        )
        upload_id = upload["UploadId"]
        parts = []
        try:
            with path.open("rb") as handle:
                number = 1
                while chunk := handle.read(part_size):
                    answer = self._client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ContentMD5=_md5(chunk),
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    number += 1
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except BaseException:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def unfinished_uploads(self, prefix: str, *, started_before: datetime) -> list[tuple[str, str]]:
        """Multipart uploads under ``prefix`` begun before ``started_before`` and never completed
        (a process killed mid-upload): ``(key, upload id)`` each. Their parts take space until
        aborted."""
        found: list[tuple[str, str]] = []
        try:
            paginator = self._client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < started_before:
                        found.append((upload["Key"], upload["UploadId"]))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"listing unfinished uploads failed: {exc}") from exc
        return found

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"aborting the upload of {key} failed: {exc}") from exc

    def copy(self, source: str, target: str) -> None:
        """Server-side copy, keeping the metadata (and so the recorded SHA-256)."""
        try:
            self._client.copy_object(
                Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"copy of {source} failed: {exc}") from exc

    def put_bytes(self, data: bytes, key: str, *, content_type: str | None = None) -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        ctype = content_type or content_type_for(key)
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=ctype,
                ContentMD5=_md5(data),
                Metadata={"sha256": digest},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"upload of {key} failed: {exc}") from exc
        return StoredObject(key=key, size_bytes=len(data), sha256=digest, content_type=ctype)

    def get_file(self, key: str, dest: Path) -> StoredObject:
        """Download ``key`` to ``dest`` and verify it against its stored SHA-256."""
        head = self.head(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client.download_file(self.bucket, key, str(dest))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"download of {key} failed: {exc}") from exc
        actual = sha256_file(dest)
        if head.sha256 and actual != head.sha256:
            dest.unlink(missing_ok=True)
            raise ChecksumMismatch(f"{key}: sha256 {actual} does not match stored {head.sha256}")
        return StoredObject(key, dest.stat().st_size, actual, head.content_type)

    def get_bytes(self, key: str) -> bytes:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                raise NotFound(f"object {key} not found") from exc
            raise StorageError(f"read of {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"read of {key} failed: {exc}") from exc
        data: bytes = answer["Body"].read()
        return data

    def sha256_of(self, key: str) -> str:
        """The SHA-256 of ``key``'s bytes as the store returns them, read as a stream."""
        digest = hashlib.sha256()
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            for chunk in answer["Body"].iter_chunks(1024 * 1024):
                digest.update(chunk)
        except ClientError as exc:
            if _status(exc) == 404:
                raise NotFound(f"object {key} not found") from exc
            raise StorageError(f"read of {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"read of {key} failed: {exc}") from exc
        return digest.hexdigest()

    def head(self, key: str) -> StoredObject:
        try:
            answer = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                raise NotFound(f"object {key} not found") from exc
            raise StorageError(f"head of {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"head of {key} failed: {exc}") from exc
        return StoredObject(
            key=key,
            size_bytes=answer["ContentLength"],
            sha256=answer.get("Metadata", {}).get("sha256", ""),
            content_type=answer.get("ContentType", ""),
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, in key order."""
        for item in self.list_objects(prefix):
            yield item["key"]

    def list_objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under ``prefix``, in key order: key, size_bytes and etag."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield {
                        "key": item["Key"],
                        "size_bytes": item.get("Size", 0),
                        "etag": str(item.get("ETag", "")).strip('"'),
                    }
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"listing {prefix} failed: {exc}") from exc

    def delete(self, keys: list[str]) -> None:
        # One by one: DeleteObjects needs a Content-MD5 that not every S3-compatible store accepts
        # from every SDK version, and Vantage deletes few objects at a time.
        try:
            for key in keys:
                self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"delete failed: {exc}") from exc

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list_keys(prefix))
        self.delete(keys)
        return len(keys)

    def presigned_get(
        self, key: str, *, expires_s: int | None = None, filename: str | None = None
    ) -> str:
        """A URL anyone can GET ``key`` with until it expires."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self._signer.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=expires_s or self.settings.presign_expiry_s,
        )


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _count_server_errors(http_response: Any = None, event_name: str = "", **_: Any) -> None:
    if http_response is not None and http_response.status_code >= 500:
        _count_error(event_name)


def _count_unanswered(event_name: str = "", **_: Any) -> None:
    _count_error(event_name)


def _count_error(event_name: str) -> None:
    """One storage error in the series, by S3 operation (``after-call.s3.PutObject``)."""
    from infra.core.metrics import STORAGE_ERRORS

    STORAGE_ERRORS.labels(event_name.rsplit(".", 1)[-1] or "unknown").inc()
