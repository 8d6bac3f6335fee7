"""Slow, independently written Python reference of one replica and its schedulers.

Written from the schedulers' published code paths with plain lists and
``heapq``: the paper's testbed, the SLAI fork of Sarathi-Serve
(github.com/agrimUT/SLAI, commit 5098a7aba05e3edbcfa3a509d6cc9cd248fc4380):
``sarathi/core/scheduler/{sarathi,vllm,slai}_scheduler.py`` (``_schedule``),
``sarathi/core/block_space_manager/base_block_space_manager.py``
(``can_allocate`` with its watermark, ``can_append_slot``, ``append_slot``),
``sarathi/core/datatypes/sequence.py`` and
``sarathi/core/sequence_manager/base_sequence_manager.py`` (a completed prefill
appends no token; ``reset_for_recompute``); and RAD and RAD with alternating
modes from the rules of the docstrings of ``queueing.sched_rad`` and
``queueing.sched_rad_alternating``. It shares nothing with ``queueing``'s
kernels except the latency model's vectorised ``iteration_time``. KV blocks
follow the testbed's logical blocks: a sequence's logical tokens are its
prompt plus every token it generated, and a decode needs
``ceil(logical / block_size)`` physical blocks.
"""

import heapq
import math


class _Req:
    def __init__(self, i, arrival, prompt, out, tbt, rank):
        self.id, self.arrival, self.prompt, self.out, self.tbt, self.rank = i, arrival, prompt, out, tbt, rank
        self.target = prompt
        self.done = 0
        self.generated = 0
        self.blocks = 0
        self.kv = 0
        self.phase = "waiting"
        self.times = []
        self.preemptions = 0
        self.lst = None
        self.run_outputs = 0  # tokens since the last (re)start


def reference_simulate(arrival, prompt, output, tbt, scheduler, latency, token_budget=512, max_active=128,
                       max_decodes=128, n_blocks=14733, block_size=16, max_prefill=8192,
                       theta_low=5.0, theta_high=10.0, kv_threshold=0.96, kv_watermark=0.01,
                       append_rule="any_free", token_convention="testbed", warmup_requests=0,
                       tile=128, prefills_per_cycle=8, kv_reserve=0.0, decode_budget=0):
    """Token times (list of lists, seconds), the batches [(start, [(id, tokens), ...])] and preemption counts.

    A request's times are its first-token time followed by its later tokens
    (testbed convention: the prefill's end, then D decode tokens).
    """
    ranks = {v: k for k, v in enumerate(sorted(set(tbt)))}
    reqs = [_Req(i, arrival[i], int(prompt[i]), int(output[i]), tbt[i], ranks[tbt[i]]) for i in range(len(arrival))]
    policy = {"vllm": "fcfs", "sarathi": "fcfs", "sarathi-spf": "spf", "slai-fcfs-fixed": "fcfs",
              "slai-spf-fixed": "spf", "slai": "spf", "slai-priority": "priority", "rad": "fcfs",
              "rad-alternating": "fcfs"}[scheduler]
    fixed = scheduler in ("slai-fcfs-fixed", "slai-spf-fixed")
    testbed = token_convention == "testbed"
    watermark = int(kv_watermark * n_blocks)  # BaseBlockSpaceManager.watermark_blocks
    warm = []
    for w in range(warmup_requests):  # each warm-up request served alone, by this same reference
        warm += reference_simulate([0.0], [prompt[w]], [output[w]], [tbt[w]], scheduler, latency, token_budget,
                                   max_active, max_decodes, n_blocks, block_size, max_prefill, theta_low,
                                   theta_high, kv_threshold, kv_watermark, append_rule, token_convention,
                                   0, tile, prefills_per_cycle, kv_reserve, decode_budget)[3]
    state = {"free": n_blocks, "durations": list(warm), "last_end": 0.0}
    cycle = {"mode": "prefill", "admitted": 0, "decode_batches": 0, "launched": False, "next_id": 0}
    waiting, active, decode_heap, last_batch, batches = [], [], [], [], []

    def blocks(tokens):
        return -(-tokens // block_size)

    def head():
        if not waiting:
            return None
        if policy == "fcfs":
            return waiting[0]
        if policy == "spf":
            return min(waiting, key=lambda q: (q.target, q.id))
        return min(waiting, key=lambda q: (q.rank, q.target, q.id))

    def admit(q):
        waiting.remove(q)
        q.blocks = blocks(q.target)
        state["free"] -= q.blocks
        q.kv = 0
        q.done = 0
        q.phase = "prefill"
        active.append(q)
        active.sort(key=lambda x: x.id)

    def can_allocate(q, extra=0):
        return state["free"] - blocks(q.target) - extra >= watermark

    def can_admit(q):
        return can_allocate(q) and len(active) < max_active

    def preempt(q):
        state["free"] += q.blocks
        q.blocks = q.kv = q.done = 0
        q.target = q.prompt + q.generated
        q.phase = "waiting"
        q.preemptions += 1
        if testbed:  # reset_for_recompute: prompt += outputs, outputs = [] (D fresh tokens, new TTFT)
            q.run_outputs = 0
            q.times = []
        active.remove(q)
        if policy == "fcfs":
            waiting.insert(0, q)
        else:
            waiting.append(q)

    def append_slot(q):
        logical = q.prompt + q.generated  # tokens in the sequence's logical blocks
        needs = blocks(logical) > q.blocks
        if state["free"] == 0 and (append_rule == "any_free" or needs):  # can_append_slot
            return False
        if needs:
            state["free"] -= 1
            q.blocks += 1
        # attention context of this decode; the testbed's decode k (k = 1..D) runs
        # over P + k tokens, vLLM's decode emitting token k + 1 over P + k
        q.kv = logical + (1 if testbed else 0)
        return True

    def admit_new(batch, tokens):
        while True:
            q = head()
            if q is None or not can_admit(q):
                break
            c = min(q.target, token_budget - tokens)
            if c == 0:
                break
            admit(q)
            batch.append((q, c))
            tokens += c
        return tokens

    def sarathi_like(batch, token_limit):
        queue = list(active)
        prefills = []
        tokens = 0
        while queue:
            q = queue.pop(0)
            if q.phase == "prefill":
                prefills.append(q)
                continue
            if tokens >= token_limit:
                continue
            while not append_slot(q):
                if queue:
                    preempt(queue.pop())
                else:
                    preempt(q)
                    break
            else:
                batch.append((q, 1))
                tokens += 1
        return prefills, tokens

    def decode_tile(batch, width):
        """Up to ``width`` decodes, round robin in arrival order from the request after the last one served."""
        decoding = [q for q in active if q.phase == "decode"]
        order = [q for q in decoding if q.id >= cycle["next_id"]] + [q for q in decoding if q.id < cycle["next_id"]]
        in_batch = set()
        for q in order:
            if len(in_batch) == width:
                break
            if q.phase != "decode":  # preempted for an earlier decode of this batch
                continue
            while not append_slot(q):
                victim = max((a for a in active if a.id not in in_batch), key=lambda a: a.id)
                preempt(victim)
                if victim is q:
                    break
            if q.phase == "decode":
                batch.append((q, 1))
                in_batch.add(q.id)
                cycle["next_id"] = q.id + 1

    def rad_alternating(batch):
        reserve = int(kv_reserve * n_blocks)
        for _ in range(3):
            if cycle["mode"] == "prefill":
                while cycle["admitted"] < prefills_per_cycle and len(active) < max_active:
                    q = head()
                    if q is None or not can_allocate(q, reserve if active else 0):
                        break
                    admit(q)
                    cycle["admitted"] += 1
                prefilling = [q for q in active if q.phase == "prefill"]
                rest = sum(q.target - q.done for q in prefilling)
                y = len(active) - len(prefilling)
                if rest >= token_budget or (rest > 0 and (not waiting or y == 0)):
                    size = min(rest, token_budget)
                    for q in prefilling:
                        c = min(q.target - q.done, size)
                        if c == 0:
                            break
                        batch.append((q, c))
                        size -= c
                    cycle["launched"] = True
                    return
                cycle["mode"] = "decode"
                cycle["decode_batches"] = y // tile
            y = sum(q.phase == "decode" for q in active)
            if cycle["decode_batches"] > 0 and y >= tile:
                cycle["decode_batches"] -= 1
                decode_tile(batch, tile)
                if batch:
                    cycle["launched"] = True
                    return
            launched = cycle["launched"]
            cycle.update(mode="prefill", admitted=0, launched=False)
            if not launched and y > 0:
                decode_tile(batch, tile)
                if batch:
                    return

    def schedule(now):
        batch = []
        if scheduler == "rad-alternating":
            rad_alternating(batch)
            return batch
        if scheduler == "rad":
            static = int(decode_budget)
            prefills, tokens = sarathi_like(batch, static if static else token_budget)
            room = token_budget - (static if static else tokens)
            backlog = sum(q.target - q.done for q in prefills)
            reserve = int(kv_reserve * n_blocks)
            while backlog < room and len(prefills) < prefills_per_cycle and len(active) < max_active:
                q = head()
                if q is None or not can_allocate(q, reserve if active else 0):
                    break
                admit(q)
                prefills.append(q)
                backlog += q.target
            tokens = token_budget - room
            for q in prefills:
                if tokens >= token_budget:
                    break
                c = min(q.target - q.done, token_budget - tokens)
                batch.append((q, c))
                tokens += c
            return batch
        if scheduler == "vllm":
            total = 0
            while True:
                q = head()
                if q is None or not can_admit(q) or (total > 0 and total + q.target > max_prefill):
                    break
                admit(q)
                batch.append((q, q.target))
                total += q.target
            if not batch:
                sarathi_like(batch, math.inf)
            return batch
        if scheduler.startswith("sarathi"):
            prefills, tokens = sarathi_like(batch, token_budget)
            for q in prefills:
                c = min(q.target - q.done, token_budget - tokens)
                if c > 0:
                    batch.append((q, c))
                    tokens += c
            admit_new(batch, tokens)
            return batch
        # SLAI
        if state["durations"]:
            mean = sum(state["durations"]) / len(state["durations"])
            used = (n_blocks - state["free"]) / n_blocks
            theta = theta_high if fixed or used >= kv_threshold else theta_low
            for q in last_batch:
                if q.phase == "decode":
                    q.lst = state["last_end"] + q.tbt - theta * mean
                    heapq.heappush(decode_heap, (q.lst, q.id, q))
        paused = [q for q in active if q.phase == "prefill"]
        tokens = 0
        crit = 0
        while decode_heap and tokens < token_budget and crit < max_decodes:
            if now < decode_heap[0][0]:
                break
            q = heapq.heappop(decode_heap)[2]
            crit += 1
            while not append_slot(q):
                if paused:
                    preempt(paused.pop())
                else:
                    crit -= 1
                    preempt(q)
                    break
            else:
                batch.append((q, 1))
                tokens += 1
        while paused and tokens < token_budget:
            q = paused.pop(0)
            c = min(q.target - q.done, token_budget - tokens)
            batch.append((q, c))
            tokens += c
        tokens = admit_new(batch, tokens)
        noncrit = 0
        while decode_heap and tokens < token_budget and crit + noncrit < max_decodes:
            q = heapq.heappop(decode_heap)[2]
            noncrit += 1
            while not append_slot(q):
                if paused:
                    preempt(paused.pop())
                else:
                    noncrit -= 1
                    preempt(q)
                    break
            else:
                batch.append((q, 1))
                tokens += 1
        return batch

    run_durations = []
    now = 0.0
    nxt = 0
    n = len(reqs)
    finished = 0
    while finished < n:
        while nxt < n and reqs[nxt].arrival <= now:
            waiting.append(reqs[nxt])
            nxt += 1
        if not waiting and not active:
            now = reqs[nxt].arrival
            continue
        batch = schedule(now)
        assert batch, "reference stalled"
        p = sum(c for q, c in batch if q.phase == "prefill")
        dec = [q for q, c in batch if q.phase == "decode"]
        ctx = sum(q.kv for q in dec)
        dt = float(latency.iteration_time(p, len(dec), ctx))
        batches.append((now, [(q.id, c) for q, c in batch]))
        end = now + dt
        state["durations"].append(dt)
        run_durations.append(dt)
        for q, c in batch:
            if q.phase == "prefill":
                q.done += c
                q.kv += c
                if q.done < q.target:
                    continue
                q.phase = "decode"
                if testbed:  # update_prompt_tokens_processed: no token, TTFT time
                    q.times.append(end)
                    continue
            q.times.append(end)
            q.generated += 1
            q.run_outputs += 1
            if (q.run_outputs if testbed else q.generated) == q.out:
                q.phase = "done"
                state["free"] += q.blocks
                q.blocks = 0
                active.remove(q)
                finished += 1
        last_batch = [q for q, c in batch]
        state["last_end"] = end
        now = end
    return [q.times for q in reqs], batches, [q.preemptions for q in reqs], run_durations
