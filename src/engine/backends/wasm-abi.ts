/**
 * The contract between the AssemblyScript kernels (assembly/) and the TypeScript side of the WASM backend: the
 * layout of a backend's control block (allocated from the heap; offsets below are bytes from its start) and the
 * numeric id of every kernel. This file is compiled by both asc and tsc, so it holds only plain numeric constants.
 */

/**
 * Control words. A job is a list of chunks (some kernels order them in phases); threads claim chunks from the
 * work-queue word, an int64 holding (job sequence number << 32 | next chunk), so that a thread that wakes up late
 * for a finished job can never claim a chunk of the next one. CTRL_DONE counts finished chunks.
 */
export const CTRL_SEQ = 0;
export const CTRL_NTH = 4;
export const CTRL_QUIT = 8;
export const CTRL_KERNEL = 12;
export const CTRL_WQ = 64;
export const CTRL_DONE = 128;
export const CTRL_ERROR = 132;
/**
 * The current job's chunk count, stored (atomically) by the dispatching thread before it publishes the job. A
 * thread claims its first chunk against this word and the work-queue word alone: no job function reads the
 * arguments, or touches memory, before it holds a chunk of the current job.
 */
export const CTRL_TOTAL = 136;
/** Test hooks (see WasmPool.setTestHooks): flag bits, and per-mille chances of a worker stall or heap growth. */
export const CTRL_TEST_FLAGS = 140;
export const CTRL_TEST_STALL = 144;
export const CTRL_TEST_GROW = 148;
/** Flag: the first chunk of a job with nth ≥ 2 threads goes to thread 0, the second to thread 1, and so on. */
export const TEST_EVERY_THREAD = 1;
/** Float64 argument slots written by the dispatching thread. */
export const ARGS = 256;
export const MAX_ARGS = 192;
/** Per-thread scratch table: [byte pointer, byte size] as two u32 per thread. */
export const SCRATCH_TABLE = 2048;
export const MAX_THREADS = 64;
/** Shared per-call buffers (byte pointers) handed to multi-phase kernels. */
export const SHARED_TABLE = 2560;
/** Chunks finished per thread (int32 per thread, counted since the pool last reset them). */
export const THREAD_CHUNKS = 2816;
/** A worker's trap message (ASCII, zero-terminated), written before it sets CTRL_ERROR. */
export const TRAP_TEXT = 3072;
export const TRAP_TEXT_BYTES = 512;
/** Size of the control block. */
export const CTRL_BYTES = 4096;

// Kernel ids.
export const K_GEMM = 1;
export const K_CONV_FWD = 2;
export const K_CONV_BWD_INPUT = 3;
export const K_CONV_BWD_WEIGHT = 4;
export const K_MAXPOOL = 5;
export const K_MAXPOOL_BWD = 6;
export const K_AVGPOOL = 7;
export const K_AVGPOOL_BWD = 8;
export const K_ADAPTIVE_AVGPOOL = 9;
export const K_ADAPTIVE_AVGPOOL_BWD = 10;
export const K_UNARY = 11;
export const K_UNARY_BWD = 12;
export const K_BINARY = 13;
export const K_REDUCE_SUM = 14;
export const K_SOFTMAX = 15;
export const K_SOFTMAX_BWD = 16;
export const K_BN_STATS = 17;
export const K_BN_APPLY = 18;
export const K_BN_BWD = 19;
export const K_LN = 20;
export const K_LN_BWD = 21;
export const K_COPY = 22;
export const K_FILL = 23;
export const K_AXPY = 24;
export const K_SGD = 25;
export const K_ADAM = 26;

// Unary op ids (the order of UnaryOp in backend.ts).
export const U_RELU = 0;
export const U_LEAKY_RELU = 1;
export const U_TANH = 2;
export const U_SIGMOID = 3;
export const U_GELU = 4;
export const U_SILU = 5;
export const U_HARDSWISH = 6;
export const U_HARDSIGMOID = 7;
export const U_EXP = 8;
export const U_LOG = 9;
export const U_NEG = 10;
export const U_SQRT = 11;
export const U_SQUARE = 12;
export const U_ABS = 13;
export const U_POW = 14;
export const U_ADD_SCALAR = 15;
export const U_MUL_SCALAR = 16;
export const U_RELU6 = 17;

// Binary op ids.
export const B_ADD = 0;
export const B_SUB = 1;
export const B_MUL = 2;
export const B_DIV = 3;

/**
 * GEMM blocking (used by the kernels; TypeScript sizes the per-thread scratch from the module's
 * scratchBytesPerThread()): MR×NR register block, KC-deep packed panels (a KC×NR B micro-panel stays in L1d),
 * MC×KC blocks of A (L2), NC-wide blocks of B per thread when a thread works alone.
 */
export const GEMM_MR = 4;
export const GEMM_NR = 8;
export const GEMM_KC = 256;
export const GEMM_MC = 128;
export const GEMM_NC = 2048;
