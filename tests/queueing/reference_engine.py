"""Slow, independently written Python reference of one replica and its schedulers.

Written from the schedulers' published code paths (Sarathi-Serve ``_schedule``,
vLLM v0 prefill-first, the SLAI ``LastMinuteScheduler``) with plain lists and
``heapq``; shares nothing with ``queueing``'s kernels except the latency model's
vectorised ``iteration_time``. Returns every request's token times.
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


def reference_simulate(arrival, prompt, output, tbt, scheduler, latency, token_budget=512, max_active=128,
                       max_decodes=128, n_blocks=14733, block_size=16, max_prefill=8192,
                       theta_low=5.0, theta_high=10.0, kv_threshold=0.96):
    """Token times (list of lists, seconds) and the batches [(start, [(id, tokens), ...])]."""
    ranks = {v: k for k, v in enumerate(sorted(set(tbt)))}
    reqs = [_Req(i, arrival[i], int(prompt[i]), int(output[i]), tbt[i], ranks[tbt[i]]) for i in range(len(arrival))]
    policy = {"vllm": "fcfs", "sarathi": "fcfs", "sarathi-spf": "spf", "slai-fcfs-fixed": "fcfs",
              "slai-spf-fixed": "spf", "slai": "spf", "slai-priority": "priority"}[scheduler]
    fixed = scheduler in ("slai-fcfs-fixed", "slai-spf-fixed")
    state = {"free": n_blocks, "durations": [], "last_end": 0.0}
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

    def can_admit(q):
        return blocks(q.target) <= state["free"] and len(active) < max_active

    def preempt(q):
        state["free"] += q.blocks
        q.blocks = q.kv = q.done = 0
        q.target = q.prompt + q.generated
        q.phase = "waiting"
        q.preemptions += 1
        active.remove(q)
        if policy == "fcfs":
            waiting.insert(0, q)
        else:
            waiting.append(q)

    def append_slot(q):
        if q.kv == q.blocks * block_size:
            if state["free"] == 0:
                return False
            state["free"] -= 1
            q.blocks += 1
        q.kv += 1
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

    def schedule(now):
        batch = []
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
        for q, c in batch:
            if q.phase == "prefill":
                q.done += c
                q.kv += c
                if q.done < q.target:
                    continue
                q.phase = "decode"
            q.times.append(end)
            q.generated += 1
            if q.generated == q.out:
                q.phase = "done"
                state["free"] += q.blocks
                q.blocks = 0
                active.remove(q)
                finished += 1
        last_batch = [q for q, c in batch]
        state["last_end"] = end
        now = end
    return [q.times for q in reqs], batches, [q.preemptions for q in reqs]
