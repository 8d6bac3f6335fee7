"""Slow, independently written Python reference of a disaggregated cluster (no preemption).

P prefill replicas running Sarathi-Serve's chunked prefill (FCFS, whole-prompt
KV at admission), D decode replicas running every admitted decode each
iteration, round-robin routing at both stages, a FIFO link per prefill
replica, FIFO decode admission queues (``queueing.cluster`` describes the
model), under the fluid rules (no watermark, a block only when a decode needs
one, the prefill emits the first token). Plain lists and ``heapq``; it shares
nothing with ``queueing`` except the latency model's ``iteration_time``. A
decode that would need a KV block when none is free raises
``NotImplementedError`` (the test workloads never need one).
"""

import heapq
import math


def reference_cluster(arrival, prompt, output, n_prefill, n_decode, latency, *, token_budget=512, max_active=128,
                      prefill_blocks=14733, decode_blocks=14733, block_size=16, bandwidth=math.inf,
                      link_latency=0.0, kv_bytes=131072.0):
    """Token times of every request (list of lists, s) and its (prefill end, transfer start, transfer end)."""
    n = len(arrival)
    R = n_prefill + n_decode
    blocks_of = lambda tokens: -(-tokens // block_size)  # noqa: E731
    free = [prefill_blocks] * n_prefill + [decode_blocks] * n_decode
    waiting = [[] for _ in range(R)]       # FCFS: (arrival, id)
    active = [[] for _ in range(R)]        # ids, kept sorted
    admitq = [[] for _ in range(R)]        # decode admission queues: heaps of (time, id)
    incoming = [0] * R
    busy_until = [None] * R
    batch = [[] for _ in range(R)]
    link_free = [0.0] * n_prefill
    flights = []                           # (landing time, id)
    rr = [0, 0]
    done_pf = [0] * n
    kv = [0] * n
    blocks = [0] * n
    gen = [0] * n
    src = [-1] * n
    times = [[] for _ in range(n)]
    events = [(math.nan, math.nan, math.nan) for _ in range(n)]
    nxt = 0
    now = 0.0
    finished = 0

    def commit(r):
        nonlocal finished
        for i, tok in batch[r]:
            if done_pf[i] < prompt[i]:
                done_pf[i] += tok
                kv[i] += tok
                if done_pf[i] < prompt[i]:
                    continue
            times[i].append(now)
            gen[i] += 1
            if gen[i] == output[i]:
                free[r] += blocks[i]
                active[r].remove(i)
                finished += 1
            elif r < n_prefill:  # prefill done: keep the KV here, queue for a decode replica
                active[r].remove(i)
                src[i] = r
                events[i] = (now, math.nan, math.nan)
                d = n_prefill + rr[1] % n_decode
                rr[1] += 1
                heapq.heappush(admitq[d], (now, i))  # FIFO, ties by id
        busy_until[r] = None

    def admissions():
        started = False
        for d in range(n_prefill, R):
            while admitq[d]:
                _, i = admitq[d][0]
                if len(active[d]) + incoming[d] >= max_active or free[d] < blocks_of(kv[i]):
                    break
                heapq.heappop(admitq[d])
                free[d] -= blocks[i]
                incoming[d] += 1
                p = src[i]
                start = max(now, link_free[p])
                link_free[p] = start + kv[i] * kv_bytes / bandwidth
                heapq.heappush(flights, (link_free[p] + link_latency, i, d))
                events[i] = (events[i][0], start, math.nan)
                started = True
        return started

    def build(r):
        out, used = [], 0
        if r >= n_prefill:  # decode replica: every active decode, oldest first
            for i in active[r]:
                if used >= token_budget:
                    break
                if kv[i] == blocks[i] * block_size:
                    if free[r] < 1:
                        raise NotImplementedError("a decode needs a KV block and none is free (preemption)")
                    free[r] -= 1
                    blocks[i] += 1
                kv[i] += 1
                out.append((i, 1))
                used += 1
            return out
        for i in active[r]:  # started prefills, oldest first
            if used < token_budget:
                c = min(prompt[i] - done_pf[i], token_budget - used)
                out.append((i, c))
                used += c
        while used < token_budget and waiting[r] and len(active[r]) < max_active:
            i = waiting[r][0][1]
            if free[r] < blocks_of(prompt[i]):
                break
            waiting[r].pop(0)
            blocks[i] = blocks_of(prompt[i])
            free[r] -= blocks[i]
            active[r].append(i)
            active[r].sort()
            c = min(prompt[i], token_budget - used)
            out.append((i, c))
            used += c
        return out

    while finished < n:
        ends = [(busy_until[r], r) for r in range(R) if busy_until[r] is not None and busy_until[r] <= now]
        if ends:
            commit(min(ends)[1])
            continue
        if flights and flights[0][0] <= now:
            _, i, d = heapq.heappop(flights)
            p = src[i]
            free[p] += blocks[i]
            incoming[d] -= 1
            active[d].append(i)
            active[d].sort()
            events[i] = (events[i][0], events[i][1], now)
            continue
        if nxt < n and arrival[nxt] <= now:
            r = rr[0] % n_prefill
            rr[0] += 1
            waiting[r].append((arrival[nxt], nxt))
            nxt += 1
            continue
        if admissions():
            continue
        scheduled = False
        for r in range(R):
            if busy_until[r] is None and (active[r] or waiting[r]):
                if not active[r] and free[r] < blocks_of(prompt[waiting[r][0][1]]):
                    continue
                batch[r] = build(r)
                p = sum(t for i, t in batch[r] if done_pf[i] < prompt[i])
                dec = [i for i, t in batch[r] if done_pf[i] >= prompt[i]]
                dur = float(latency.iteration_time(p, len(dec), sum(kv[i] for i in dec)))
                busy_until[r] = now + dur
                scheduled = True
                break
        if scheduled:
            continue
        candidates = [t for t in busy_until if t is not None]
        candidates += [flights[0][0]] if flights else []
        candidates += [arrival[nxt]] if nxt < n else []
        now = min(candidates)
    return times, events
