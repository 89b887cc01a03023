"""Prints the stage timings stages.rs wrote: the median, over the reports of
a run, of each step's p50 (each report covers 400 orders), in path order."""

import statistics
import sys

# (mark, the step that ends at it), in the order the order path reaches them.
STEPS = [
    (1, "frame read -> the engine's dispatch"),
    (14, "market state updated"),
    (16, "routed to the strategy"),
    (2, "the strategy's callback"),
    (15, "intents collected"),
    (3, "risk checked"),
    (4, "ExecHandle::submit entered"),
    (10, "gate locked"),
    (11, "gate: filters, the lease covering the id"),
    (12, "query built, rate budget charged"),
    (13, "query signed"),
    (5, "URL, header and body of the request"),
    (6, "intent queued to the journal"),
    (7, "execution task told"),
    (8, "sending task boxed"),
    (9, "sending task polled"),
    (0, "HTTP client called (the metric's end)"),
]
SAMPLES = [
    "rehearsal, as scheduled (engine::warm)",
    "the same rehearsal, right after a real order",
    "and once more at once",
]


def main(path):
    stages, samples = [], {0: [], 1: [], 2: []}
    for line in open(path):
        words = line.split()
        if words[0] == "stages":
            fields = dict(w.split("=") for w in words[1:])
            stages.append({k: int(v.split("/")[0]) for k, v in fields.items()})
        elif words[0].startswith("sample"):
            samples[int(words[0][6:])].append(int(words[1].split("/")[0]))
    if not stages:
        sys.exit("stage-timing: no reports (fewer than 400 orders?)")
    print(f"order path, p50 of each step (median of {len(stages)} reports of 400 orders):")
    for mark, name in STEPS:
        print(f"  {name:<44} {statistics.median(r[f's{mark}'] for r in stages) / 1000:6.2f} us")
    print(f"  {'sum of the steps (p50 of the sums)':<44} {statistics.median(r['total'] for r in stages) / 1000:6.2f} us")
    for slot, name in enumerate(SAMPLES):
        if samples[slot]:
            print(f"  {name:<44} {statistics.median(samples[slot]) / 1000:6.2f} us")


main(sys.argv[1])
