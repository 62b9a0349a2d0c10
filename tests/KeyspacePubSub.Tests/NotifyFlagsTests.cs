using FluentAssertions;
using KeyspacePubSub.Engine.Config;
using Xunit;

namespace KeyspacePubSub.Tests;

public class NotifyFlagsTests
{
    [Theory]
    [InlineData("KA", "AK")]
    [InlineData("$lshzxeKE", "$lshzxeKE")]
    [InlineData("KEA", "AKE")]
    [InlineData("Egx", "gxE")]
    [InlineData("Km", "Km")]
    [InlineData("AKEmn", "AKEm")]
    [InlineData("", "")]
    public void Render_UsesRedisCanonicalOrder(string set, string expected) =>
        NotifyFlagsText.Render(NotifyFlagsText.Parse(set)!.Value).Should().Be(expected);

    [Theory]
    [InlineData("Z")]
    [InlineData("KEA!")]
    public void Parse_RejectsUnknownClasses(string text) => NotifyFlagsText.Parse(text).Should().BeNull();

    [Fact]
    public void All_ExcludesKeyMissAndNew()
    {
        var all = NotifyFlagsText.Parse("A")!.Value;
        all.HasFlag(NotifyFlags.KeyMiss).Should().BeFalse();
        all.HasFlag(NotifyFlags.New).Should().BeFalse();
        all.HasFlag(NotifyFlags.Expired).Should().BeTrue();
    }
}
