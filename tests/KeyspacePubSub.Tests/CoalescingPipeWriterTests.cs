using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FluentAssertions;
using KeyspacePubSub.Server;
using Xunit;

namespace KeyspacePubSub.Tests;

/// <summary>A connection's output writer: many small writes, one advance of the pipe; nothing is seen before a flush.</summary>
public class CoalescingPipeWriterTests
{
    private static readonly PipeOptions Options = new(pool: new OutputBlockPool(), minimumSegmentSize: OutputBlockPool.BlockSize, pauseWriterThreshold: 0, useSynchronizationContext: false);

    private static string Drain(PipeReader reader)
    {
        reader.TryRead(out var result).Should().BeTrue();
        string text = Encoding.Latin1.GetString(result.Buffer.ToArray());
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    [Fact]
    public async Task Writes_AreSeenWholeAndInOrder_AfterAFlush_AcrossBlocks()
    {
        var pipe = new Pipe(Options);
        var writer = new CoalescingPipeWriter(pipe.Writer);
        var expected = new StringBuilder();
        for (int i = 0; i < 3000; i++)
        {
            // Values of varied sizes: many fit in what is left of a block, some do not (the pipe moves on).
            string value = $"${i}:" + new string((char)('a' + i % 26), i % 97) + "\r\n";
            var span = writer.GetSpan(value.Length);
            Encoding.Latin1.GetBytes(value, span);
            writer.Advance(value.Length);
            expected.Append(value);
        }
        writer.UnflushedBytes.Should().Be(expected.Length);
        pipe.Reader.TryRead(out _).Should().BeFalse("nothing is flushed yet");
        await writer.FlushAsync();
        writer.UnflushedBytes.Should().Be(0);
        Drain(pipe.Reader).Should().Be(expected.ToString());

        writer.Write("+OK\r\n"u8);
        writer.Write(new byte[10_000]); // larger than a block: written in pieces
        await writer.FlushAsync();
        string second = Drain(pipe.Reader);
        second.Should().StartWith("+OK\r\n").And.HaveLength(5 + 10_000);
    }

    [Fact]
    public void Advance_BeyondWhatWasGiven_Throws_AndComplete_HandsOverWhatWasWritten()
    {
        var pipe = new Pipe(Options);
        var writer = new CoalescingPipeWriter(pipe.Writer);
        int given = writer.GetSpan(10).Length;
        var advance = () => writer.Advance(given + 1);
        advance.Should().Throw<InvalidOperationException>();
        writer.Write("abc"u8);
        writer.Complete();
        pipe.Reader.TryRead(out var result).Should().BeTrue();
        result.IsCompleted.Should().BeTrue();
        Encoding.Latin1.GetString(result.Buffer.ToArray()).Should().Be("abc", "as the pipe's own Complete, what was written is committed");
    }
}
