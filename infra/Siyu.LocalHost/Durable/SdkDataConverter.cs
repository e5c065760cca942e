using SdkConverter = Microsoft.DurableTask.DataConverter;

namespace Siyu.LocalHost.Durable;

/// <summary>
/// DurableTask.Core's data converter, serializing the way Microsoft.DurableTask does (System.Text.Json), so what the
/// task hub client writes (inputs, events) reads back in orchestrators run through the SDK's shims, and the other way round.
/// </summary>
internal sealed class SdkDataConverter(SdkConverter sdk) : DurableTask.Core.Serializing.DataConverter
{
    public override string? Serialize(object? value) => value is null ? null : sdk.Serialize(value);

    public override string? Serialize(object? value, bool formatted) => Serialize(value);

    public override object? Deserialize(string? data, Type objectType) => data is null ? null : sdk.Deserialize(data, objectType);
}
