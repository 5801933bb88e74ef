"""The query log: replies never wait for the database.

Records go into an in-memory queue; one writer task drains it in batches (one transaction a
batch) and flushes what is left on shutdown. User ids are stored as salted hashes unless raw
ids are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
import uuid

from bot.answer import Reply
from bot.storage import FeedbackRecord, QueryRecord, Stats, Storage

log = logging.getLogger(__name__)

BATCH_SIZE = 200
FLUSH_INTERVAL = 0.5
MAX_PENDING = 50_000  # beyond this, new records are dropped (and counted) rather than eating memory
QUESTION_LIMIT = 500


def new_query_id() -> str:
    return uuid.uuid4().hex[:20]


class QueryLog:
    def __init__(
        self,
        storage: Storage,
        *,
        store_raw_ids: bool = False,
        salt: str | None = None,
        retention_days: int = 0,
    ) -> None:
        self.storage = storage
        self.store_raw_ids = store_raw_ids
        self._salt = salt
        self.retention_days = retention_days
        self._queue: asyncio.Queue[QueryRecord | FeedbackRecord] = asyncio.Queue()
        self._batch_ready = asyncio.Event()  # a whole batch is queued, or closing: write now
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.dropped = 0
        self.written = 0

    async def start(self) -> None:
        if self._salt is None:  # one salt for every process sharing the database
            self._salt = await self.storage.setdefault_meta("user_salt", secrets.token_hex(16))
        if self.retention_days > 0:
            await self.prune()
        self._task = asyncio.create_task(self._writer(), name="tarikh-querylog")

    def user_key(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if self.store_raw_ids:
            return str(user_id)
        digest = hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()
        return digest[:24]

    # -- producers (never await the database) ------------------------------------------------

    def _put(self, record: QueryRecord | FeedbackRecord) -> None:
        if self._closing or self._queue.qsize() >= MAX_PENDING:
            self.dropped += 1
            return
        self._queue.put_nowait(record)
        if self._queue.qsize() >= BATCH_SIZE - 1:
            self._batch_ready.set()

    def log_reply(
        self,
        reply: Reply,
        *,
        via: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_id: int | None = None,
        query_id: str | None = None,
    ) -> str:
        qid = query_id or new_query_id()
        self._put(
            QueryRecord(
                id=qid,
                ts=time.time(),
                question=reply.question[:QUESTION_LIMIT],
                via=via,
                answered=reply.answered,
                guild_id=guild_id,
                channel_id=channel_id,
                user_key=self.user_key(user_id),
                fact_id=reply.fact_id,
                score=reply.score,
                latency_ms=round(reply.latency_ms, 3),
            )
        )
        return qid

    def log_feedback(self, query_id: str, *, user_id: int | None, helpful: bool) -> None:
        self._put(FeedbackRecord(query_id, time.time(), self.user_key(user_id), helpful))

    # -- the writer ---------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            self._batch_ready.clear()
            batch = [await self._queue.get()]
            if self._queue.qsize() < BATCH_SIZE - 1 and not self._closing:
                # Until a whole batch is queued or FLUSH_INTERVAL has passed: one timer a batch
                # (waiting for each record with its own timeout costs a task and a timer apiece).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_ready.wait(), FLUSH_INTERVAL)
            while len(batch) < BATCH_SIZE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[QueryRecord | FeedbackRecord]) -> None:
        queries = [r for r in batch if isinstance(r, QueryRecord)]
        feedback = [r for r in batch if isinstance(r, FeedbackRecord)]
        try:
            await self.storage.write_batch(queries, feedback)
            self.written += len(batch)
        except Exception:
            log.exception("could not write %d query log record(s)", len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        if self._task is None:
            return
        await self._queue.join()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop accepting records, write what is queued, stop the writer."""
        self._closing = True
        self._batch_ready.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except TimeoutError:
                log.warning("query log: %d record(s) not written at shutdown", self._queue.qsize())
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.dropped:
            log.warning("query log dropped %d record(s) (queue full or closing)", self.dropped)

    async def prune(self) -> int:
        before = time.time() - self.retention_days * 86400
        removed = await self.storage.prune(before)
        if removed:
            log.info("pruned %d query log row(s) older than %d days", removed, self.retention_days)
        return removed

    async def stats(self, **kwargs: object) -> Stats:
        return await self.storage.stats(**kwargs)  # type: ignore[arg-type]
