// Shared-memory addresses and cp.async (sm_80+): global → shared copies that bypass registers, in commit groups a
// thread waits for. Used by the prefill attention kernels' double-buffered K/V tiles and the FP8 decode kernel's pipeline.
#pragma once

// The 32-bit shared-state-space address ldmatrix and cp.async take (PTX rather than __cvta_generic_to_shared, so the
// source does not depend on which intrinsics a toolkit's NVRTC declares).
__device__ __forceinline__ unsigned smem_address(const void* p)
{
    unsigned long long a;
    asm("cvta.to.shared.u64 %0, %1;" : "=l"(a) : "l"(p));
    return (unsigned)a;
}

// 16 bytes global → shared without passing through registers; live = false writes zeros and reads nothing (keys past
// the context must be finite in shared memory: a masked probability is 0, and 0 x NaN would still be NaN).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool live)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(smem_address(dst)), "l"(src), "r"(live ? 16 : 0) : "memory");
}

__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool live)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" :: "r"(smem_address(dst)), "l"(src), "r"(live ? 4 : 0) : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits for this thread's copies of every committed group; a __syncthreads after it makes all threads' copies visible.
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// Waits until at most N of this thread's committed groups are still in flight (the older ones have landed).
template <int N>
__device__ __forceinline__ void cp_async_wait_pending() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
