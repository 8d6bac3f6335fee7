"""``prefetch(arr, i)``: hint the CPU to load ``arr[i]``'s cache line (no effect on results).

The simulators are bound by random memory accesses into per-item tables
(millions of items); touching the entry of a request a few requests ahead
overlaps those cache misses. Emits ``llvm.prefetch`` (read, high locality);
under ``NUMBA_DISABLE_JIT=1`` it is a no-op Python function.
"""

from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic
from llvmlite import ir

if config.DISABLE_JIT:

    def prefetch(arr, i):
        return None

else:

    @intrinsic
    def prefetch(typingctx, arr, i):
        if not isinstance(arr, types.Array) or not isinstance(i, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            aryty, idxty = signature.args
            ary = context.make_array(aryty)(context, builder, args[0])
            idx = context.cast(builder, args[1], idxty, types.intp)
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return types.void(arr, i), codegen
