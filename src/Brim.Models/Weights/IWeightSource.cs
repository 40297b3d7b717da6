namespace Brim.Models;

/// <summary>
/// The tensors of a model under their Hugging Face names (<c>model.layers.{i}.self_attn.q_proj.weight</c>, ...),
/// whatever the file format. Backends pull what they need: the CPU backend as float32, the CUDA backend as raw
/// bytes streamed through a pinned staging buffer (never a full host copy of the model).
/// </summary>
public interface IWeightSource : IDisposable
{
    /// <summary>Every tensor the source holds.</summary>
    IReadOnlyCollection<TensorInfo> Tensors { get; }

    /// <summary>When not null the weights are synthetic (the <c>dummy</c> load format) and <see cref="DummyWeights"/> generates them.</summary>
    int? DummySeed { get; }

    bool Contains(string name);

    /// <summary>Info of a tensor; throws <see cref="ModelLoadException"/> naming it when missing.</summary>
    TensorInfo GetInfo(string name);

    /// <summary>Copies <paramref name="destination"/>.Length bytes of a tensor's stored bytes, starting at <paramref name="byteOffset"/>.</summary>
    void ReadRaw(string name, long byteOffset, Span<byte> destination);

    /// <summary>Converts a whole tensor to float32 into <paramref name="destination"/> (length = element count).</summary>
    void ReadAsFloat32(string name, Span<float> destination);
}
