"""Time the Rasa featurizer's MiniLM forward pass per message, ONNX Runtime against NumPy (in .venv-rasa).

    .venv-rasa/bin/python nlu/bench_minilm.py [--repeat 30] [--json]

For each batch size (1 = one customer message, as Rasa's server featurizes; larger = training and
evaluation) it encodes customer-like messages with both runtimes, alternating them round by round so a
busy machine slows both alike, on one thread each (the featurizer's default). Prints per-message
milliseconds (median and best round of wall time, median of CPU time) and the largest difference between
the two runtimes' vectors.
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

BOT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bot")
MESSAGES = [
    "I am still waiting on my card, it has been two weeks now?",  # 17 tokens: a typical message
    "my transfer failed",
    "Why was I charged a fee when I took money out of the ATM abroad last weekend? Nobody told me.",
    "I want to talk to a person",
]


def measure(repeat: int, batch_sizes: list[int]) -> dict[str, Any]:
    sys.path.insert(0, BOT_DIR)
    import numpy as np
    from components.minilm_encoder import MiniLMEncoder
    from components.minilm_featurizer import model_dir_from
    from threadpoolctl import threadpool_limits

    encoders = {runtime: MiniLMEncoder(model_dir_from({}), runtime=runtime) for runtime in ("onnx", "numpy")}
    results: dict[str, Any] = {
        "max_abs_difference": float(
            np.abs(encoders["onnx"].encode(MESSAGES) - encoders["numpy"].encode(MESSAGES)).max()
        ),
        "tokens_of_first_message": len(encoders["onnx"].tokenizer.encode(MESSAGES[0]).ids),
    }
    with threadpool_limits(limits=1, user_api="blas"):
        for size in batch_sizes:
            batch = [MESSAGES[0]] if size == 1 else (MESSAGES * size)[:size]
            times: dict[str, list[float]] = {runtime: [] for runtime in encoders}
            cpu: dict[str, list[float]] = {runtime: [] for runtime in encoders}
            for _ in range(repeat):
                for runtime, encoder in encoders.items():
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    encoder.encode(batch)
                    times[runtime].append((time.perf_counter() - started) * 1000 / size)
                    cpu[runtime].append((time.thread_time() - started_cpu) * 1000 / size)
            results[f"batch_{size}"] = {
                runtime: {
                    "ms_per_message_p50": round(statistics.median(values), 2),
                    "ms_per_message_best": round(min(values), 2),
                    # this thread's CPU time (both runtimes compute on the calling thread with one thread):
                    # less moved by other jobs on the machine than the wall time
                    "cpu_ms_per_message_p50": round(statistics.median(cpu[runtime]), 2),
                }
                for runtime, values in times.items()
            }
            median = {runtime: statistics.median(values) for runtime, values in times.items()}
            results[f"batch_{size}"]["speed_up_p50"] = round(median["numpy"] / median["onnx"], 2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30, help="rounds per batch size (default 30)")
    parser.add_argument("--batch-sizes", default="1,8,32", help="comma-separated (default 1,8,32)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 1:
        parser.error("--batch-sizes needs positive integers")
    results = measure(args.repeat, sizes)
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
