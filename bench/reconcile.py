"""The peer jetsync is measured against: what a team would write with nats-py
instead of jetsync. For every declared asset it reads the asset (one INFO
request), creates it when missing and updates it when a declared field
differs, with at most --concurrency assets in flight. Streams first, then KV
buckets, then consumers (a consumer needs its stream).

Reads the desired state from the JSON file `cargo bench --bench scale`
writes (wire configs: durations in nanoseconds) and prints a JSON summary:
{"created": N, "updated": N, "unchanged": N}.

    target/tools/venv/bin/python bench/reconcile.py --server nats://127.0.0.1:4222 \
        --desired desired.json --concurrency 64
"""

import argparse
import asyncio
import json

import nats
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

NANOS = 1_000_000_000


def seconds(nanos):
    return nanos / NANOS


async def reconcile(server, desired, concurrency):
    nc = await nats.connect(server)
    js = nc.jetstream()
    limit = asyncio.Semaphore(concurrency)
    counts = {"created": 0, "updated": 0, "unchanged": 0}

    async def bounded(reconcile_one, item):
        async with limit:
            counts[await reconcile_one(item)] += 1

    async def stream(wire):
        want = StreamConfig(
            name=wire["name"],
            subjects=wire["subjects"],
            storage=StorageType(wire["storage"]),
            max_age=seconds(wire["max_age"]),
            max_bytes=wire["max_bytes"],
        )
        try:
            have = (await js.stream_info(wire["name"])).config
        except NotFoundError:
            await js.add_stream(want)
            return "created"
        if (
            sorted(have.subjects or []) != sorted(want.subjects)
            or have.storage != want.storage
            or have.max_age != want.max_age
            or have.max_bytes != want.max_bytes
        ):
            await js.update_stream(want)
            return "updated"
        return "unchanged"

    async def bucket(kv):
        try:
            have = (await js.stream_info("KV_" + kv["bucket"])).config
        except NotFoundError:
            await js.create_key_value(
                KeyValueConfig(
                    bucket=kv["bucket"],
                    history=kv["history"],
                    ttl=seconds(kv["ttl"]),
                )
            )
            return "created"
        if have.max_msgs_per_subject != kv["history"] or have.max_age != seconds(
            kv["ttl"]
        ):
            have.max_msgs_per_subject = kv["history"]
            have.max_age = seconds(kv["ttl"])
            await js.update_stream(have)
            return "updated"
        return "unchanged"

    async def consumer(entry):
        wire = entry["config"]
        want = ConsumerConfig(
            durable_name=wire["durable_name"],
            ack_policy=AckPolicy(wire["ack_policy"]),
            filter_subject=wire["filter_subject"],
            max_deliver=wire["max_deliver"],
            ack_wait=seconds(wire["ack_wait"]),
        )
        try:
            have = (
                await js.consumer_info(entry["stream_name"], wire["durable_name"])
            ).config
        except NotFoundError:
            await js.add_consumer(entry["stream_name"], want)
            return "created"
        if (
            have.ack_policy != want.ack_policy
            or have.filter_subject != want.filter_subject
            or have.max_deliver != want.max_deliver
            or have.ack_wait != want.ack_wait
        ):
            await js.add_consumer(entry["stream_name"], want)
            return "updated"
        return "unchanged"

    for reconcile_one, items in (
        (stream, desired["streams"]),
        (bucket, desired["kv"]),
        (consumer, desired["consumers"]),
    ):
        await asyncio.gather(*(bounded(reconcile_one, item) for item in items))
    await nc.close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--desired", required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    with open(args.desired) as file:
        desired = json.load(file)
    counts = asyncio.run(reconcile(args.server, desired, args.concurrency))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
