using System.Text.Json.Nodes;
using Brim.Server.Hosting;

namespace Brim.Server.Tests.Security;

/// <summary>/v1/models reports the model as the user named it (vLLM's <c>root</c>), never where its files are on this host.</summary>
public class ModelsRootTests
{
    [Fact]
    public async Task Models_BundledModel_RootIsTheServedName()
    {
        await using var server = await OwnedServer.StartAsync(new ServerOptions());

        var model = await FirstModelAsync(server);

        Assert.Equal(ServerFixture.ModelName, (string?)model["root"]);
        Assert.Equal(ServerFixture.ModelName, (string?)model["id"]);
    }

    [Fact]
    public async Task Models_RelativeModelPath_RootIsThePathAsGiven()
    {
        var absolute = ModelHostOptions.BundledModelPath();
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, absolute);
        Assert.False(Path.IsPathRooted(relative)); // else the test would not tell an absolute path from the one given

        await using var server = await OwnedServer.StartAsync(new ServerOptions(), relative);
        var model = await FirstModelAsync(server);

        Assert.Equal(relative, (string?)model["root"]);
        Assert.DoesNotContain(Path.GetDirectoryName(absolute)!, model.ToJsonString(), StringComparison.Ordinal);
    }

    private static async Task<JsonNode> FirstModelAsync(OwnedServer server)
    {
        using var http = server.CreateClient();
        var list = JsonNode.Parse(await http.GetStringAsync("v1/models"))!;
        return list["data"]![0]!;
    }
}
