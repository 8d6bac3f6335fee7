"""Doubly linked queues over item ids, for the queue policies (CLOCK, SIEVE, S3-FIFO, 2Q, ARC).

An item sits in at most one queue at a time. Queues 0 and 1 hold cached
items, queues 2 and 3 ghosts (ids of evicted items, with their sizes). ``links[2 * x]`` is the
neighbour of x towards the head (newer; -1 at the head) and
``links[2 * x + 1]`` the one towards the tail (older; -1 at the tail), as
libCacheSim's ``queue.prev`` / ``queue.next``. ``pos[x]`` is the queue that
holds x (-1: none). Queue q's head and tail are ``istate[HEADS + 2 * q]``
and ``istate[HEADS + 2 * q + 1]`` (-1 when empty) and its bytes
``fstate[BYTES + q]``. Layout of the rest of ``fstate`` / ``istate`` for
these policies: ``fstate[0]`` unused (cached bytes are those of queues 0
and 1, :func:`cached_bytes`, reset to exactly 0 when a queue empties, so
rounding drift of non-integer sizes cannot keep an eviction loop going),
``fstate[PARAMS:]`` the policy's
parameters (set by :func:`layercache.kernels.state.new_state`),
``istate[HAND]`` SIEVE's hand, ``istate[FLAG]`` a per-request flag (a ghost
hit) for the policies that need one.
"""

from numba import njit

BYTES = 1  # fstate[BYTES + q]: bytes in queue q (q < N_QUEUES)
N_QUEUES = 4
ARC_P = BYTES + N_QUEUES  # fstate[ARC_P]: ARC's target size of its recency list
PARAMS = ARC_P + 1  # fstate[PARAMS + k]: the policy's k-th parameter
N_PARAMS = 3
HEADS = 2  # istate[HEADS + 2 q], istate[HEADS + 2 q + 1]: head and tail of queue q
HAND = HEADS + 2 * N_QUEUES
FLAG = HAND + 1
N_ISTATE = FLAG + 1
N_FSTATE = PARAMS + N_PARAMS


@njit(cache=True, inline="always")
def size_of(isize, item):
    """The size ``item`` was admitted with (1 for unit sizes)."""
    return isize[item] if isize.size > 0 else 1.0


@njit(cache=True, inline="always")
def q_head(istate, q):
    return istate[HEADS + 2 * q]


@njit(cache=True, inline="always")
def q_tail(istate, q):
    return istate[HEADS + 2 * q + 1]


@njit(cache=True, inline="always")
def q_prev(links, item):
    """The neighbour towards the head (newer), -1 at the head."""
    return links[2 * item]


@njit(cache=True, inline="always")
def q_push(links, pos, istate, fstate, q, item, size):
    """Put ``item`` at the head of queue q."""
    head = istate[HEADS + 2 * q]
    links[2 * item] = -1
    links[2 * item + 1] = head
    if head >= 0:
        links[2 * head] = item
    else:
        istate[HEADS + 2 * q + 1] = item
    istate[HEADS + 2 * q] = item
    pos[item] = q
    fstate[BYTES + q] += size


@njit(cache=True, inline="always")
def q_remove(links, pos, istate, fstate, item, size):
    """Take ``item`` out of its queue."""
    q = pos[item]
    newer = links[2 * item]
    older = links[2 * item + 1]
    if newer >= 0:
        links[2 * newer + 1] = older
    else:
        istate[HEADS + 2 * q] = older
    if older >= 0:
        links[2 * older] = newer
    else:
        istate[HEADS + 2 * q + 1] = newer
    pos[item] = -1
    if newer < 0 and older < 0:
        fstate[BYTES + q] = 0.0  # empty: drop rounding drift of non-integer sizes
    else:
        fstate[BYTES + q] -= size


@njit(cache=True, inline="always")
def cached_bytes(fstate):
    """Bytes in the cached queues 0 and 1 (exactly 0 when both are empty)."""
    return fstate[BYTES] + fstate[BYTES + 1]
