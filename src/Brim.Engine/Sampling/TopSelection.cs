namespace Brim.Engine.Sampling;

/// <summary>
/// The ids of a row's largest values, largest first, ties by smaller id, without allocating per call (a bounded heap for
/// a few, a sort for all); the order the host reports top logprobs in and the device's tie rule. Reuses its buffers: a
/// result is valid until the next call. Not thread-safe.
/// </summary>
internal sealed class TopSelection
{
    private int[] _order = [];
    private int[] _heap = [];

    /// <summary>Ids of the <paramref name="k"/> largest values, largest first, ties by smaller id.</summary>
    public ReadOnlySpan<int> Largest(float[] values, int n, int k)
    {
        Ensure(n);
        var order = _order.AsSpan(0, n);
        if (k >= n)
        {
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            order.Sort(new DescendingById(values));
            return order;
        }

        // Bounded selection without allocating: a binary heap of the k best ids seen so far whose root is the worst of
        // them; a better id replaces the root. Then popping the root k times yields them worst first.
        var heap = _heap.AsSpan(0, k);
        for (var i = 0; i < k; i++)
        {
            heap[i] = i;
            SiftUp(heap, i, values);
        }

        for (var i = k; i < n; i++)
        {
            if (Better(values, i, heap[0]))
            {
                heap[0] = i;
                SiftDown(heap, 0, k, values);
            }
        }

        for (var size = k; size > 0; size--)
        {
            order[size - 1] = heap[0];
            heap[0] = heap[size - 1];
            SiftDown(heap, 0, size - 1, values);
        }

        return order[..k];
    }

    /// <summary>Whether id <paramref name="a"/> ranks before id <paramref name="b"/>: larger value, then smaller id (as <see cref="DescendingById"/>).</summary>
    private static bool Better(float[] values, int a, int b)
    {
        var c = values[a].CompareTo(values[b]);
        return c > 0 || (c == 0 && a < b);
    }

    private static void SiftUp(Span<int> heap, int i, float[] values)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Better(values, heap[parent], heap[i]))
            {
                return;
            }

            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(Span<int> heap, int i, int size, float[] values)
    {
        while (true)
        {
            var worst = (2 * i) + 1;
            if (worst >= size)
            {
                return;
            }

            var right = worst + 1;
            if (right < size && Better(values, heap[worst], heap[right]))
            {
                worst = right;
            }

            if (!Better(values, heap[i], heap[worst]))
            {
                return;
            }

            (heap[i], heap[worst]) = (heap[worst], heap[i]);
            i = worst;
        }
    }

    private void Ensure(int n)
    {
        if (_order.Length < n)
        {
            _order = new int[n];
            _heap = new int[n];
        }
    }

    private sealed class DescendingById(float[] values) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var c = values[b].CompareTo(values[a]);
            return c != 0 ? c : a.CompareTo(b);
        }
    }
}
