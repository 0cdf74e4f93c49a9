package sockmap

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// A direction's record, one per socket in the sockmap (indexed like it),
// in a BPF_F_MMAPABLE array that the program and the event loop share.
// The loop reads and writes it with atomic operations on its mapping.
const (
	// recRedirected counts the bytes the program redirected from this
	// socket to its peer (written by the program only).
	recRedirected = 0
	// recLoopSent counts the bytes the event loop wrote to the peer
	// since the handover (written by the loop only): the program needs
	// it to tell what the peer's write_seq owes to its own redirects.
	recLoopSent = 8
	// recGate is passBit while the program keeps this socket's bytes
	// for the loop instead of redirecting them, and counts in its low
	// bits every byte it kept so. The loop turns redirecting back on
	// with a compare-and-swap that succeeds only if it read them all.
	recGate = 16
	// recLast is when the program last saw a segment from this socket,
	// CLOCK_MONOTONIC_COARSE nanoseconds: the timeouts' activity.
	recLast = 24
	// recBase is the peer's write_seq when the program first redirected
	// from this socket, less what the loop had written to the peer since
	// the handover; recFlags bit 0 says it is set.
	recBase  = 32
	recFlags = 36
	// recGen is the generation of the pair that owns the record; the
	// index map carries it too, so that a program still running for a
	// socket of an earlier pair touches nothing of the next one.
	recGen = 40
	// recLoop is the event loop whose doorbell ring hears of this
	// socket.
	recLoop = 44
	recSize = 64
)

const passBit = uint64(1) << 63

// Verdicts of an sk_skb program.
const (
	skDrop = 0
	skPass = 1
)

// offsets are where the program reads the peer socket, in the running
// kernel's struct tcp_sock.
type offsets struct {
	writeSeq, wmemQueued, sndbuf int16
}

// maps are the BPF maps the verdict program uses.
type maps struct {
	socks    *ebpf.Map // SOCKMAP: index -> socket; 2*slot the client, 2*slot+1 the server
	index    *ebpf.Map // HASH: socket cookie -> {index, gen}
	recs     *ebpf.Map // ARRAY (mmapable): index -> record
	rings    *ebpf.Map // ARRAY_OF_MAPS: loop -> RINGBUF doorbell
	overflow *ebpf.Map // ARRAY (mmapable): loop -> u32, set when its ring was full
}

// verdict is the stream-verdict program. For each segment that arrives on
// a socket of a pair it:
//
//   - drops a segment without data: a bare FIN. Redirected, it would make
//     the peer's send worker fail with EPIPE (it reads a zero-length send
//     as a broken pipe) and stop forwarding to that socket for good. The
//     FIN itself is already recorded on the socket (RCV_SHUTDOWN), where
//     the event loop sees it;
//   - passes segments of a socket it does not know to the socket itself;
//   - stamps the record with the time, the timeouts' activity;
//   - redirects the segment to the peer socket's egress while fewer than
//     window bytes are queued in the kernel for the peer (redirected but
//     not yet in its write queue: the peer's write_seq tells how many it
//     took), and while the peer's send buffer has room for all of them. A
//     peer that does not read would otherwise let the queue grow without
//     bound: the kernel takes the segment off the source socket at once,
//     so the source's window never closes. And the kernel's send worker,
//     when the peer's send buffer fills in the middle of a segment, later
//     sends that segment again from its start (6.18: 64 KiB runs of bytes
//     forwarded twice, or lost, under load);
//   - past the window, keeps the segment on the source socket (SK_PASS)
//     and rings the loop's doorbell, once: the segment is charged to the
//     source's receive buffer, so TCP's own flow control stops the sender,
//     and the loop moves the kept bytes once the kernel's queue is empty.
//     Once keeping, it keeps every later segment too, so that no segment
//     overtakes one the loop has not moved yet.
func verdict(m maps, window int32, off offsets) asm.Instructions {
	const (
		fpCookie = -8
		fpKey    = -16
		fpGen    = -12
		fpSock   = -24
		fpSeq    = -28
		fpIndex  = -32
		fpQueued = -36
		fpSndbuf = -40
	)
	return asm.Instructions{
		// r6 = ctx, r7 = len, r8 = index, r9 = record
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R7, asm.R6, 0, asm.Word), // __sk_buff.len
		asm.JEq.Imm(asm.R7, 0, "drop"),
		asm.FnGetSocketCookie.Call(),
		asm.StoreMem(asm.RFP, fpCookie, asm.R0, asm.DWord),
		asm.LoadMapPtr(asm.R1, m.index.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpCookie),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.LoadMem(asm.R8, asm.R0, 0, asm.Word),
		asm.LoadMem(asm.R1, asm.R0, 4, asm.Word),
		asm.StoreMem(asm.RFP, fpIndex, asm.R8, asm.Word),
		asm.StoreMem(asm.RFP, fpGen, asm.R1, asm.Word),
		asm.StoreMem(asm.RFP, fpKey, asm.R8, asm.Word),
		asm.LoadMapPtr(asm.R1, m.recs.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.LoadMem(asm.R1, asm.R9, recGen, asm.Word),
		asm.LoadMem(asm.R2, asm.RFP, fpGen, asm.Word),
		asm.JNE.Reg(asm.R1, asm.R2, "pass"),
		asm.FnKtimeGetCoarseNs.Call(),
		asm.StoreMem(asm.R9, recLast, asm.R0, asm.DWord),
		asm.LoadMem(asm.R1, asm.R9, recGate, asm.DWord),
		asm.JSLT.Imm(asm.R1, 0, "keep"), // passBit is the sign bit: keeping already

		// The peer's write_seq, read through BTF: the peer socket from
		// the sockmap (a reference to release), as a tcp_sock.
		asm.Xor.Imm(asm.R8, 1),
		asm.StoreMem(asm.RFP, fpKey, asm.R8, asm.Word),
		asm.LoadMapPtr(asm.R1, m.socks.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "keep"), // no peer yet, or no more: the loop decides
		asm.StoreMem(asm.RFP, fpSock, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.FnSkcToTcpSock.Call(),
		asm.LoadMem(asm.R1, asm.RFP, fpSock, asm.DWord),
		asm.JNE.Imm(asm.R0, 0, "tcp"),
		asm.FnSkRelease.Call(),
		asm.Ja.Label("keep"),
		asm.LoadMem(asm.R2, asm.R0, off.writeSeq, asm.Word).WithSymbol("tcp"),
		asm.StoreMem(asm.RFP, fpSeq, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R0, off.wmemQueued, asm.Word),
		asm.StoreMem(asm.RFP, fpQueued, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R0, off.sndbuf, asm.Word),
		asm.StoreMem(asm.RFP, fpSndbuf, asm.R2, asm.Word),
		asm.FnSkRelease.Call(),
		asm.LoadMem(asm.R2, asm.RFP, fpSeq, asm.Word),
		asm.LoadMem(asm.R1, asm.R9, recFlags, asm.Word),
		asm.JNE.Imm(asm.R1, 0, "based"),
		// The first redirect: nothing was redirected yet, and what the
		// loop wrote is in the peer's write queue (it turns redirecting
		// on only with its pipe empty), so the peer's write_seq then,
		// less the loop's bytes, is where the count starts.
		asm.LoadMem(asm.R1, asm.R9, recLoopSent, asm.Word),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.Sub.Reg32(asm.R3, asm.R1),
		asm.StoreMem(asm.R9, recBase, asm.R3, asm.Word),
		asm.StoreImm(asm.R9, recFlags, 1, asm.Word),
		asm.LoadMem(asm.R3, asm.R9, recBase, asm.Word).WithSymbol("based"),
		// Bytes in the peer's write queue since then, and so the bytes
		// still queued for it in the kernel, modulo 2^32.
		asm.Sub.Reg32(asm.R2, asm.R3),
		asm.LoadMem(asm.R4, asm.R9, recRedirected, asm.DWord),
		asm.LoadMem(asm.R5, asm.R9, recLoopSent, asm.DWord),
		asm.Add.Reg(asm.R4, asm.R5),
		asm.Sub.Reg32(asm.R4, asm.R2),
		asm.Add.Reg(asm.R4, asm.R7),
		asm.JGT.Imm(asm.R4, window, "keep"),
		// And only while the peer's send buffer has room for all of it,
		// with an eighth for the segments' overhead: a send worker that
		// runs out of room in the middle of a segment resends it whole
		// later (observed on 6.18: bytes forwarded twice).
		asm.Mov.Reg(asm.R5, asm.R4),
		asm.RSh.Imm(asm.R5, 3),
		asm.Add.Reg(asm.R5, asm.R4),
		asm.LoadMem(asm.R1, asm.RFP, fpQueued, asm.Word),
		asm.Add.Reg(asm.R5, asm.R1),
		asm.LoadMem(asm.R1, asm.RFP, fpSndbuf, asm.Word),
		asm.JGT.Reg(asm.R5, asm.R1, "keep"),
		atomicOp(asm.AddAtomic, asm.R9, asm.R7, asm.DWord, recRedirected),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.LoadMapPtr(asm.R2, m.socks.FD()),
		asm.Mov.Reg(asm.R3, asm.R8),
		asm.Mov.Imm(asm.R4, 0), // the peer's egress
		asm.FnSkRedirectMap.Call(),
		asm.Return(),

		// Keep the segment for the loop. Count it first, then set the
		// bit: the loop's compare-and-swap, which expects the bit and
		// the count of what it read, then fails whenever a segment was
		// kept that it has not read.
		atomicOp(asm.AddAtomic, asm.R9, asm.R7, asm.DWord, recGate).WithSymbol("keep"),
		asm.LoadImm(asm.R1, -1<<63, asm.DWord),
		atomicOp(asm.FetchOr, asm.R9, asm.R1, asm.DWord, recGate),
		asm.JSLT.Imm(asm.R1, 0, "pass"), // it was set: the loop was told
		asm.LoadMem(asm.R1, asm.R9, recLoop, asm.Word),
		asm.StoreMem(asm.RFP, fpKey, asm.R1, asm.Word),
		asm.LoadMapPtr(asm.R1, m.rings.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "lost"),
		asm.Mov.Reg(asm.R1, asm.R0),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpIndex),
		asm.Mov.Imm(asm.R3, 4),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnRingbufOutput.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		// The ring is full: flag the loop, which then looks at every
		// record it owns.
		asm.LoadMapPtr(asm.R1, m.overflow.FD()).WithSymbol("lost"),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, fpKey),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "pass"),
		asm.StoreImm(asm.R0, 0, 1, asm.Word),

		asm.Mov.Imm(asm.R0, skPass).WithSymbol("pass"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, skDrop).WithSymbol("drop"),
		asm.Return(),
	}
}

// atomicMask is where cilium/ebpf's OpCode keeps an atomic operation.
const atomicMask asm.OpCode = 0x0001_ff00

// atomicOp is op.Mem(dst, src, size, off), encoded so that it survives
// cilium/ebpf v0.22.0's marshalling. Its Instruction.Marshal takes the
// immediate from Constant before it moves the operation from the OpCode
// into the immediate, so every atomic operation reached the kernel as an
// ADD (a fetch-or set and then cleared its bit). Here the operation is in
// Constant from the start and the OpCode carries none: the marshalled
// immediate is right (TestAtomicEncoding checks the bytes).
func atomicOp(op asm.AtomicOp, dst, src asm.Register, size asm.Size, off int16) asm.Instruction {
	oc := op.OpCode(size)
	return asm.Instruction{OpCode: oc &^ atomicMask, Dst: dst, Src: src, Offset: off, Constant: int64(oc&atomicMask) >> 8}
}
