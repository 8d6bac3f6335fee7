"""Frequency buckets: O(1) in-cache LFU with LRU order among equal counts.

``nodes`` (int64, shape (4 * (n_items + 2),)) holds bucket nodes of four
words, ``nodes[4b : 4b + 4] = (count, head item, previous node, next node)``.
Node 0 is the sentinel of a ring of non-empty buckets in increasing count
order: ``nodes[3]`` is the lowest bucket, ``nodes[2]`` the highest. Each
bucket holds a circular doubly linked list of items in the order they reached
the bucket's count; ``head`` is the earliest (the next victim of the lowest
bucket) and its ``prev`` the latest. ``links[2 * x]`` / ``links[2 * x + 1]``
are item x's previous / next item in its bucket (``links[2 * x] == -1``:
x is not cached) and ``pos[x]`` its bucket node. ``istate[0]`` heads the list
of free nodes (linked through the next word, -1 when empty) and
``istate[1]`` is the first never-used node. At most one bucket per cached
item plus one being created exist at once, so ``n_items + 2`` nodes suffice.
"""

from numba import njit


@njit(cache=True, inline="always")
def _new_node(nodes, istate, count, after):
    """Take a free node for ``count`` and link it right after node ``after``."""
    b = istate[0]
    if b >= 0:
        istate[0] = nodes[4 * b + 3]
    else:
        b = istate[1]
        istate[1] = b + 1
    nxt = nodes[4 * after + 3]
    nodes[4 * b] = count
    nodes[4 * b + 1] = -1
    nodes[4 * b + 2] = after
    nodes[4 * b + 3] = nxt
    nodes[4 * after + 3] = b
    nodes[4 * nxt + 2] = b
    return b


@njit(cache=True, inline="always")
def _remove_item(links, nodes, istate, b, x):
    """Unlink item x from bucket b; free b if that empties it."""
    s = links[2 * x + 1]
    if s == x:
        p = nodes[4 * b + 2]
        n = nodes[4 * b + 3]
        nodes[4 * p + 3] = n
        nodes[4 * n + 2] = p
        nodes[4 * b + 3] = istate[0]
        istate[0] = b
        return
    p = links[2 * x]
    links[2 * p + 1] = s
    links[2 * s] = p
    if nodes[4 * b + 1] == x:
        nodes[4 * b + 1] = s


@njit(cache=True, inline="always")
def _append_item(links, pos, nodes, b, x):
    """Put item x last in bucket b."""
    h = nodes[4 * b + 1]
    if h < 0:
        nodes[4 * b + 1] = x
        links[2 * x] = x
        links[2 * x + 1] = x
    else:
        tail = links[2 * h]
        links[2 * x] = tail
        links[2 * x + 1] = h
        links[2 * tail + 1] = x
        links[2 * h] = x
    pos[x] = b


@njit(cache=True, inline="always")
def buckets_hit(links, pos, nodes, istate, x):
    """Count one more request for cached item x: move it to the next bucket."""
    b = pos[x]
    c = nodes[4 * b] + 1
    nb = nodes[4 * b + 3]
    if nb == 0 or nodes[4 * nb] != c:
        nb = _new_node(nodes, istate, c, b)
    _remove_item(links, nodes, istate, b, x)
    _append_item(links, pos, nodes, nb, x)


@njit(cache=True, inline="always")
def buckets_insert(links, pos, nodes, istate, x):
    """Cache item x with count 1."""
    b = nodes[3]
    if b == 0 or nodes[4 * b] != 1:
        b = _new_node(nodes, istate, 1, 0)
    _append_item(links, pos, nodes, b, x)


@njit(cache=True, inline="always")
def buckets_pop(links, pos, nodes, istate):
    """Remove and return the victim: the head of the lowest bucket, or -1 if empty."""
    b = nodes[3]
    if b == 0:
        return -1
    x = nodes[4 * b + 1]
    _remove_item(links, nodes, istate, b, x)
    links[2 * x] = -1
    pos[x] = -1
    return x
