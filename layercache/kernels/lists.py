"""Doubly linked queues over item ids, for the queue policies (CLOCK, SIEVE, S3-FIFO, 2Q, ARC, SLRU).

An item sits in at most one queue at a time. Queues ``0 .. N_CACHED - 1``
hold cached items, queues ``GHOST_1`` and ``GHOST_2`` ghosts (ids of evicted items,
with their sizes). Each item has one 16-byte record in ``links`` (int32),
so that touching an item costs one cache line: ``links[4 * x]`` is the
neighbour of x towards the head (newer; -1 at the head), ``links[4 * x + 1]``
the one towards the tail (older; -1 at the tail), as libCacheSim's
``queue.prev`` / ``queue.next``; ``links[4 * x + 2]`` is the queue that holds
x (-1: none) and ``links[4 * x + 3]`` the policy's per-item counter (a
frequency or a visited bit). The state's ``pos`` and ``keys`` are views of
those two columns (:func:`layercache.kernels.state.new_state`). Queue q's
head and tail are ``istate[HEADS + 2 * q]`` and ``istate[HEADS + 2 * q + 1]``
(-1 when empty) and its bytes ``fstate[BYTES + q]``. Layout of the rest of
``fstate`` / ``istate`` for these policies: ``fstate[0]`` unused (cached
bytes are those of the cached queues, :func:`cached_bytes`, and a queue's
bytes are reset to exactly 0 when it empties, so rounding drift of
non-integer sizes cannot keep an eviction loop going), ``fstate[PARAMS:]``
the policy's parameters (set by :func:`layercache.kernels.state.new_state`),
``istate[HAND]`` SIEVE's hand, ``istate[FLAG]`` a per-policy flag.

The helpers are plain jitted functions, which LLVM inlines; inlining them
at Numba's IR level (``inline="always"``) into every call site of every
policy made the cold compile of a policy up to three times longer.

A queue whose items leave only at its tail (CLOCK's: a second chance
re-enters at the head) is kept instead as a *ring*, an array ``ring`` of
item ids from the tail ``istate[HEADS + 1]`` up to just before the head
``istate[HEADS]`` (indices modulo ``ring.size``, which is the number of items,
so it never overflows), its bytes in ``fstate[BYTES]``; the item's record
then holds only its queue (0) and counter. Walking the tail reads the array
in order, so the records of the items behind it are prefetched (a linked
tail is a chain of dependent loads).
"""

from numba import njit

from .prefetch import prefetch

RECORD = 4  # int32 words of links per item: newer, older, queue, counter
N_CACHED = 8  # queues 0..7 hold cached items (SLRU's segments)
N_QUEUES = N_CACHED + 2  # two ghost queues
GHOST_1, GHOST_2 = N_CACHED, N_CACHED + 1
BYTES = 1  # fstate[BYTES + q]: bytes in queue q (q < N_QUEUES)
ARC_P = BYTES + N_QUEUES  # fstate[ARC_P]: ARC's target size of its recency list
PARAMS = ARC_P + 1  # fstate[PARAMS + k]: the policy's k-th parameter
N_PARAMS = 3
HEADS = 2  # istate[HEADS + 2 q], istate[HEADS + 2 q + 1]: head and tail of queue q
HAND = HEADS + 2 * N_QUEUES
FLAG = HAND + 1
N_ISTATE = FLAG + 1
N_FSTATE = PARAMS + N_PARAMS


@njit(cache=True)
def size_of(isize, item):
    """The size ``item`` was admitted with (1 for unit sizes)."""
    return isize[item] if isize.size > 0 else 1.0


@njit(cache=True)
def q_tail(istate, q):
    return istate[HEADS + 2 * q + 1]


@njit(cache=True)
def q_bytes(fstate, q):
    return fstate[BYTES + q]


@njit(cache=True)
def q_prev(links, item):
    """The neighbour towards the head (newer), -1 at the head."""
    return links[RECORD * item]


@njit(cache=True)
def q_push(links, pos, istate, fstate, q, item, size):
    """Put ``item`` at the head of queue q."""
    head = istate[HEADS + 2 * q]
    links[RECORD * item] = -1
    links[RECORD * item + 1] = head
    if head >= 0:
        links[RECORD * head] = item
    else:
        istate[HEADS + 2 * q + 1] = item
    istate[HEADS + 2 * q] = item
    pos[item] = q
    fstate[BYTES + q] += size


@njit(cache=True)
def q_remove(links, pos, istate, fstate, item, size):
    """Take ``item`` out of its queue."""
    q = pos[item]
    newer = links[RECORD * item]
    older = links[RECORD * item + 1]
    if newer >= 0:
        links[RECORD * newer + 1] = older
    else:
        istate[HEADS + 2 * q] = older
    if older >= 0:
        links[RECORD * older] = newer
    else:
        istate[HEADS + 2 * q + 1] = newer
    pos[item] = -1
    if newer < 0 and older < 0:
        fstate[BYTES + q] = 0.0  # empty: drop rounding drift of non-integer sizes
    else:
        fstate[BYTES + q] -= size


@njit(cache=True)
def q_move_to_head(links, pos, istate, fstate, q, item, size):
    """Move cached ``item`` from its queue to the head of queue q."""
    q_remove(links, pos, istate, fstate, item, size)
    q_push(links, pos, istate, fstate, q, item, size)


@njit(cache=True)
def q_pop_tail(links, pos, isize, istate, fstate, q):
    """Take queue q's tail out; return it and its size. q must not be empty.

    Also prefetches the record of the item that will be the tail after the
    next one: a queue's tail is taken repeatedly, and the new tail's record,
    just written, names its newer neighbour.
    """
    victim = istate[HEADS + 2 * q + 1]
    vsize = size_of(isize, victim)
    q_remove(links, pos, istate, fstate, victim, vsize)
    tail = istate[HEADS + 2 * q + 1]
    if tail >= 0:
        newer = links[RECORD * tail]
        if newer >= 0:
            prefetch(links, RECORD * newer)
            if isize.size > 0:
                prefetch(isize, newer)
    return victim, vsize


@njit(cache=True)
def q_trim(links, pos, isize, istate, fstate, q, limit, size):
    """Drop queue q's tail items until ``size`` more bytes fit in ``limit``."""
    while fstate[BYTES + q] + size > limit:
        q_pop_tail(links, pos, isize, istate, fstate, q)


@njit(cache=True)
def cached_bytes(fstate):
    """Bytes in the cached queues (exactly 0 when all are empty)."""
    total = 0.0
    for q in range(N_CACHED):
        total += fstate[BYTES + q]
    return total


RING_AHEAD = 8  # ring entries between prefetching an item's record and popping it


@njit(cache=True)
def r_push(ring, pos, istate, fstate, item, size):
    """Put ``item`` at the head of the ring (as queue 0)."""
    head = istate[HEADS]
    ring[head] = item
    head += 1
    istate[HEADS] = head if head < ring.size else 0
    pos[item] = 0
    fstate[BYTES] += size


@njit(cache=True)
def r_pop(ring, links, pos, isize, istate, fstate):
    """Take the ring's tail out; return it and its size. The ring must not be empty."""
    tail = istate[HEADS + 1]
    victim = ring[tail]
    tail += 1
    if tail == ring.size:
        tail = 0
    istate[HEADS + 1] = tail
    vsize = size_of(isize, victim)
    pos[victim] = -1
    if tail == istate[HEADS]:
        fstate[BYTES] = 0.0  # empty: drop rounding drift of non-integer sizes
    else:
        fstate[BYTES] -= vsize
    ahead = tail + RING_AHEAD
    if ahead >= ring.size:
        ahead -= ring.size
    if 0 <= ahead < ring.size:  # a stale entry past the head is a valid id too: a harmless prefetch
        behind = ring[ahead]
        prefetch(links, RECORD * behind)
        if isize.size > 0:
            prefetch(isize, behind)
    return victim, vsize
