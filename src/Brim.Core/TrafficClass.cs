namespace Brim.Core;

/// <summary>
/// Who is waiting for a request. Online requests have a person or a service waiting on the other end and are
/// scheduled first; offline requests (Batch API, <c>service_tier: "flex"</c>) fill the batch slots online leaves empty.
/// </summary>
public enum TrafficClass
{
    Online = 0,
    Offline = 1,
}
