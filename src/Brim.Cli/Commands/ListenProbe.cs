using System.Net;
using System.Net.Sockets;

namespace Brim.Cli.Commands;

/// <summary>
/// Whether `brim serve` could listen where it is asked to, tried before the model loads: loading a large model takes
/// minutes, and Kestrel only binds afterwards. A probe, not a reservation: Kestrel's own bind still reports a port
/// taken in between.
/// </summary>
internal static class ListenProbe
{
    /// <summary>Null when the address is free (or port 0), else why not, in one line.</summary>
    public static string? InUse(string host, int port)
    {
        if (port == 0)
        {
            return null;
        }

        var address = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return $"{host}:{port} is already in use";
        }
        catch (SocketException e)
        {
            return $"cannot listen on {host}:{port}: {e.Message}";
        }
        finally
        {
            listener.Stop();
        }
    }
}
