using System.IO.MemoryMappedFiles;

namespace Brim.Models;

/// <summary>
/// A read-only memory map of a whole file. Weights stay in the page cache and are paged in on first touch, so opening
/// a 16 GB checkpoint costs nothing until a backend reads it.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    private MappedFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        Length = length;
        byte* basePointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
        _pointer = basePointer + _view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    public static MappedFile Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"weights file not found: {path}");
        }

        var length = new FileInfo(path).Length;
        if (length == 0)
        {
            throw new ModelLoadException($"weights file is empty: {path}");
        }

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new MappedFile(path, map, view, length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>The bytes [offset, offset + length); the caller has checked the range against <see cref="Length"/>.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (offset < 0 || length < 0 || offset + length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + length}) is outside {Path} ({Length} bytes)");
        }

        return new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    public void Dispose()
    {
        if (_pointer != null)
        {
            _pointer = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }

        _view.Dispose();
        _map.Dispose();
    }
}
