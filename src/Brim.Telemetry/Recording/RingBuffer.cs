namespace Brim.Telemetry.Recording;

/// <summary>A fixed-capacity buffer that keeps the newest items, overwriting the oldest. Not thread-safe: callers lock.</summary>
internal sealed class RingBuffer<T>
{
    private readonly T[] _items;
    private long _written;

    public RingBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _items = new T[capacity];
    }

    public int Capacity => _items.Length;

    public int Count => (int)Math.Min(_written, _items.Length);

    public void Add(T item)
    {
        _items[_written % _items.Length] = item;
        _written++;
    }

    /// <summary>The newest item; throws when empty.</summary>
    public T Last => Count > 0 ? _items[(_written - 1) % _items.Length] : throw new InvalidOperationException("the buffer is empty");

    /// <summary>Copies the items, oldest first.</summary>
    public T[] ToArray()
    {
        var result = new T[Count];
        var start = _written - result.Length;
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = _items[(start + i) % _items.Length];
        }

        return result;
    }
}
