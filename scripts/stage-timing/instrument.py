"""Adds stage marks to the order path of the tree in the current directory.

Run by scripts/stage-timing/run.sh on a scratch copy of the tree. Each edit
names the code it follows; if the code has moved on, the edit fails with the
file and the text it looked for, and this script needs the new anchor.
"""

import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent


def edit(path, anchor, replacement):
    text = pathlib.Path(path).read_text()
    if anchor not in text:
        sys.exit(f"stage-timing: {path}: anchor not found:\n{anchor}")
    pathlib.Path(path).write_text(text.replace(anchor, replacement, 1))


def mark_before(path, anchor, step):
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    edit(path, anchor, f"{indent}crate::stages::mark({step});\n{anchor}")


def mark_after(path, anchor, step):
    """After `anchor`, one level deeper if it opens a block."""
    indent = anchor[: len(anchor) - len(anchor.lstrip())] + ("    " if anchor.endswith("{") else "")
    edit(path, anchor, f"{anchor}\n{indent}crate::stages::mark({step});")


shutil.copy(HERE / "stages.rs", "src/stages.rs")
edit("src/lib.rs", "pub mod secret;", "pub mod secret;\npub mod stages;")

engine = "src/engine/mod.rs"
mark_before(engine, "        if let Some(at) = received {\n            crate::ops::latency::TICK_TO_STRATEGY", 1)
mark_after(engine, "        self.core.market.apply(event);", 14)
mark_before(engine, "        let view = StrategyView {", 16)
mark_after(engine, "    fn process_intents(&mut self, idx: usize) {", 2)
mark_after(engine, "            let intents: Vec<OrderIntent> = self.slots[idx].intents.drain().collect();", 15)
mark_after(engine, "                self.check(idx, &order, None).map_err(|r| (id, r))?;", 3)
mark_after(engine, "                self.check(idx, &order, Some(cancel)).map_err(|r| (id, r))?;", 3)

handle = "src/venue/binance/exec/handle.rs"
mark_after(handle, "    fn submit(&mut self, request: ExecRequest) -> Result<(), SubmitError> {", 4)
edit(
    handle,
    "        let prepared = if gate.clear(&id, &order) {",
    "        crate::stages::mark(10);\n"
    "        let clear = gate.clear(&id, &order);\n"
    "        crate::stages::mark(11);\n"
    "        let prepared = if clear {",
)
mark_before(handle, "        // The intent is queued before the request can leave", 5)
mark_before(handle, "        drop(gate);\n        // The execution task hears", 6)
mark_before(handle, "        let mut send = sending(", 7)
mark_before(handle, "        let mut started = std::task::Context", 8)
mark_after(handle, "    Box::pin(async move {", 9)
# The rehearsal's own cost: as scheduled (slot 0), then run again twice right
# after a real order has gone (slots 1 and 2), on the same thread.
edit(
    handle,
    "    fn rehearse(&mut self, id: &ClientOrderId, order: &NewOrder, replacing: bool) {\n",
    "    fn rehearse(&mut self, id: &ClientOrderId, order: &NewOrder, replacing: bool) {\n"
    "        let start = std::time::Instant::now();\n"
    "        self.rehearse_path(id, order, replacing);\n"
    "        crate::stages::sample(0, start.elapsed().as_nanos() as u32);\n"
    "    }\n"
    "}\n\n"
    "impl ExecHandle {\n"
    "    fn rehearse_path(&self, id: &ClientOrderId, order: &NewOrder, replacing: bool) {\n",
)
edit(
    handle,
    "        drop(wake);\n        true",
    "        drop(wake);\n"
    "        for slot in [1, 2] {\n"
    "            let start = std::time::Instant::now();\n"
    "            self.rehearse_path(&id, &order, cancel.is_some());\n"
    "            crate::stages::sample(slot, start.elapsed().as_nanos() as u32);\n"
    "        }\n"
    "        true",
)

rest = "src/venue/binance/rest/mod.rs"
mark_after(rest, "    fn prepare(&self, call: Call) -> Result<Prepared, VenueError> {", 12)
mark_before(rest, "        let mut url = match self.order_urls", 13)
edit(
    rest,
    "            crate::ops::latency::TICK_TO_ORDER.record(sent - origin);",
    "            crate::ops::latency::TICK_TO_ORDER.record(sent - origin);\n            crate::stages::finish(origin, sent);",
)
