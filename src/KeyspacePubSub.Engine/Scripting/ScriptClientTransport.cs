using System.Buffers;
using System.IO.Pipelines;

namespace KeyspacePubSub.Engine.Scripting;

/// <summary>
/// The transport of the client scripts run their commands as (Redis's lua_client): not a connection, its output a
/// buffer the script reads each command's reply from. MONITOR shows its commands as "[db lua]".
/// </summary>
internal sealed class ScriptClientTransport : IClientTransport
{
    private readonly CaptureWriter _output = new();

    public PipeWriter Output => _output;

    public string RemoteAddress => "lua";

    public string LocalAddress => "";

    public void OutputReady() { }

    public void Resume() { }

    public void Abort() { }

    /// <summary>The reply bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> Written => _output.Buffer.WrittenSpan;

    public void Clear()
    {
        // A large reply's buffer is not kept for the next command.
        if (_output.Buffer.Capacity > 1 << 20) _output.Buffer = new ArrayBufferWriter<byte>(256);
        else _output.Buffer.ResetWrittenCount();
    }

    private sealed class CaptureWriter : PipeWriter
    {
        public ArrayBufferWriter<byte> Buffer = new(256);

        public override void Advance(int bytes) => Buffer.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => Buffer.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => Buffer.GetSpan(sizeHint);

        public override void CancelPendingFlush() { }

        public override void Complete(Exception? exception = null) { }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => new(new FlushResult(false, false));

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => 0;
    }
}
