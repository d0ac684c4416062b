//===- GpuMatmul.cpp - block-tiled matmul for GPU teams -------------------===//
//
// mlirboot-gpu-matmul{block-m block-n block-k thread-m thread-n vector-bytes
// shared-memory-space}: the GPU targets' matmul schedule. Each static
// memref `linalg.matmul`, `linalg.batch_matmul` or `linalg.conv_2d_nhwc_hwcf`
// (f32/f64, identity layouts; a convolution as a matmul, see Conv) that sits
// directly in a function body becomes one scf.parallel over (block tile,
// thread) pairs (a batch's tiles after the previous batch's):
//
//   iv in [0, tiles * T), T = (block-m / thread-m) * (block-n / thread-n)
//   tile = iv / T, t = iv % T
//
// The offload runtime's composite loop hands a team of T threads the
// iterations [b*T, (b+1)*T) (the DeviceRTL's default chunks: one block chunk
// of NumThreads iterations, thread chunk 1), so the T threads of one team
// work on the same C tile at the same time. They stage block-k columns of A
// (transposed, padded against bank conflicts) and block-k rows of B in
// team-shared memory (two module globals in `shared-memory-space`), meet at
// a team barrier (__kmpc_barrier: the DeviceRTL's aligned barrier in SPMD
// mode), and each thread multiplies a thread-m x thread-n register tile out
// of them (vector FMAs, one vector per row). The globals carry
// `mlirboot.team_threads = T`: mlirboot-offload-nests gives the kernel that
// uses them thread_limit(T). If a team ever had another size, the mapping
// above would be wrong, so the body checks omp_get_num_threads() == T first
// and traps otherwise (an error, never a wrong answer).
//
// Sizes off the block tile give partial tiles at the edges: every global
// read and write is then guarded (zero past the edge, no write past it).
// Matmuls inside loops or with transposed maps are left to the plain
// parallel loops.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_gpu_matmul {

struct GpuMatmulPass : public PassWrapper<GpuMatmulPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GpuMatmulPass)

  GpuMatmulPass() = default;
  GpuMatmulPass(const GpuMatmulPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "mlirboot-gpu-matmul"; }
  StringRef getDescription() const final {
    return "Static matmuls -> team-tiled parallel loops (shared-memory tiles, register "
           "tiles per thread) for the GPU offload kernels";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect,
                    memref::MemRefDialect, scf::SCFDialect, vector::VectorDialect>();
  }

  Option<int64_t> blockM{*this, "block-m", llvm::cl::desc("C rows per team"),
                         llvm::cl::init(128)};
  Option<int64_t> blockN{*this, "block-n", llvm::cl::desc("C columns per team"),
                         llvm::cl::init(128)};
  Option<int64_t> blockK{
      *this, "block-k",
      llvm::cl::desc("k per shared-memory stage for f32 (wider elements: the same bytes)"),
      llvm::cl::init(32)};
  Option<int64_t> threadM{*this, "thread-m", llvm::cl::desc("C rows per thread"),
                          llvm::cl::init(8)};
  Option<int64_t> threadN{*this, "thread-n", llvm::cl::desc("C columns per thread"),
                          llvm::cl::init(8)};
  Option<int64_t> vectorBytes{
      *this, "vector-bytes",
      llvm::cl::desc("bytes per load when staging the tiles (1 element: scalar loads)"),
      llvm::cl::init(16)};
  Option<unsigned> sharedSpace{
      *this, "shared-memory-space",
      llvm::cl::desc("address space of team-shared memory (NVPTX/AMDGPU: 3)"),
      llvm::cl::init(3)};

  // A's tile is stored transposed, [block-k][block-m + pad]: the pad moves
  // the block-k values one thread writes into different banks.
  static constexpr int64_t kPad = 4;

  int64_t threads() const { return (blockM / threadM) * (blockN / threadN); }

  /// k per stage for this element type: the team-shared bytes stay those of
  /// f32 (static shared memory is at most 48 KiB per CUDA block: f64 tiles of
  /// f32's block-k=32 would take 66 KiB).
  int64_t blockKFor(Type elem) const {
    return std::max<int64_t>(1, blockK * 32 / elem.getIntOrFloatBitWidth());
  }

  /// Elements per staging load: `vector-bytes` wide where the tiles divide
  /// evenly into such vectors among the team, else 1.
  int64_t stagingWidth(Type elem) const {
    int64_t width = std::max<int64_t>(1, vectorBytes * 8 / elem.getIntOrFloatBitWidth());
    int64_t bk = blockKFor(elem), T = threads();
    if (bk % width || blockN % width || (blockM * bk / width) % T || (bk * blockN / width) % T)
      return 1;
    return width;
  }

  /// A linalg.matmul or linalg.batch_matmul with the default maps.
  static bool plainContraction(Operation *op) {
    if (auto mm = dyn_cast<linalg::MatmulOp>(op))
      return !mm.hasUserDefinedMaps();
    if (auto bmm = dyn_cast<linalg::BatchMatmulOp>(op))
      return !bmm.hasUserDefinedMaps();
    return false;
  }

  bool qualifies(linalg::LinalgOp op) const {
    if (!(plainContraction(op) || isa<linalg::Conv2DNhwcHwcfOp>(op.getOperation())) ||
        !op.hasPureBufferSemantics())
      return false;
    if (!isa<func::FuncOp>(op->getParentOp()))
      return false;
    auto a = dyn_cast<MemRefType>(op.getDpsInputs()[0].getType());
    auto b = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
    auto c = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
    if (!a || !b || !c || !a.hasStaticShape() || !b.hasStaticShape() || !c.hasStaticShape())
      return false;
    for (MemRefType t : {a, b, c})
      if (!t.getLayout().isIdentity() || t.getMemorySpace())
        return false;
    Type e = c.getElementType();
    if (!(e.isF32() || e.isF64()) || a.getElementType() != e || b.getElementType() != e)
      return false;
    int64_t bk = blockKFor(e);
    return (blockM * bk) % threads() == 0 && (bk * blockN) % threads() == 0;
  }

  /// The team-shared tiles for one element type (one pair per module: the
  /// kernels run one after the other).
  std::pair<memref::GlobalOp, memref::GlobalOp> sharedTiles(ModuleOp module, Type elem) {
    std::string suffix = elem.isF32() ? "f32" : "f64";
    std::string nameA = "__mlirboot_team_tile_a_" + suffix;
    std::string nameB = "__mlirboot_team_tile_b_" + suffix;
    SymbolTable symbols(module);
    auto existingA = symbols.lookup<memref::GlobalOp>(nameA);
    auto existingB = symbols.lookup<memref::GlobalOp>(nameB);
    if (existingA && existingB)
      return {existingA, existingB};
    MLIRContext *ctx = module.getContext();
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Attribute space = IntegerAttr::get(IntegerType::get(ctx, 64), sharedSpace);
    auto make = [&](StringRef name, ArrayRef<int64_t> shape) {
      auto type = MemRefType::get(shape, elem, MemRefLayoutAttrInterface(), space);
      auto global = memref::GlobalOp::create(
          b, module.getLoc(), name, b.getStringAttr("private"), type,
          /*initial_value=*/UnitAttr::get(ctx), /*constant=*/false, b.getI64IntegerAttr(16));
      global->setAttr("mlirboot.team_threads", b.getI64IntegerAttr(threads()));
      return global;
    };
    int64_t bk = blockKFor(elem);
    return {make(nameA, {bk, blockM + kPad}), make(nameB, {bk, blockN})};
  }

  static func::FuncOp declare(ModuleOp module, StringRef name, FunctionType type) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto f = func::FuncOp::create(b, module.getLoc(), name, type);
    f.setPrivate();
    return f;
  }

  /// A 2-D convolution (NHWC input, HWCF filter) read as the matmul
  /// out[(n,oh,ow)][f] += in[n][oh*sh+kh*dh][ow*sw+kw*dw][c] * w[(kh,kw,c)][f]:
  /// the filter and the output are (K x F) and (M x F) row-major views; A is
  /// gathered from the input as it is staged.
  struct Conv {
    int64_t outH, outW, kernelW, channels, strideH, strideW, dilationH, dilationW;
  };

  static Value collapseToMatrix(OpBuilder &b, Location loc, Value v) {
    SmallVector<ReassociationIndices> groups = {{0, 1, 2}, {3}};
    return memref::CollapseShapeOp::create(b, loc, v, groups);
  }

  void rewrite(linalg::LinalgOp op, ModuleOp module) {
    Location loc = op.getLoc();
    Value A = op.getDpsInputs()[0], B = op.getDpsInputs()[1], C = op.getDpsInits()[0];
    std::optional<Conv> conv;
    int64_t M, N, K;
    if (auto c2d = dyn_cast<linalg::Conv2DNhwcHwcfOp>(op.getOperation())) {
      auto in = cast<MemRefType>(A.getType()), out = cast<MemRefType>(C.getType());
      auto filter = cast<MemRefType>(B.getType());
      auto strides = llvm::to_vector(c2d.getStrides().getValues<int64_t>());
      auto dilations = llvm::to_vector(c2d.getDilations().getValues<int64_t>());
      conv = Conv{out.getDimSize(1), out.getDimSize(2), filter.getDimSize(1), in.getDimSize(3),
                  strides[0],        strides[1],        dilations[0],        dilations[1]};
      M = out.getDimSize(0) * out.getDimSize(1) * out.getDimSize(2);
      N = out.getDimSize(3);
      K = filter.getDimSize(0) * filter.getDimSize(1) * filter.getDimSize(2);
      OpBuilder views(op);
      B = collapseToMatrix(views, loc, B);
      C = collapseToMatrix(views, loc, C);
    }
    auto cType = cast<MemRefType>(C.getType());
    Type elem = cType.getElementType();
    bool batched = cType.getRank() == 3;
    int64_t batches = batched ? cType.getDimSize(0) : 1;
    if (!conv) {
      M = cType.getDimSize(batched ? 1 : 0);
      N = cType.getDimSize(batched ? 2 : 1);
      K = cast<MemRefType>(A.getType()).getDimSize(batched ? 2 : 1);
    }
    int64_t T = threads(), colThreads = blockN / threadN;
    int64_t bk = blockKFor(elem);
    // Sizes off the block tile: partial tiles, every global access guarded
    // (rows by an scf.if, columns by the transfer ops' bounds), the rest of
    // a staged tile zero (zero products past K).
    bool exact = M % blockM == 0 && N % blockN == 0 && K % bk == 0;
    auto ceilDiv = [](int64_t x, int64_t y) { return (x + y - 1) / y; };
    int64_t tilesN = ceilDiv(N, blockN), perBatch = ceilDiv(M, blockM) * tilesN;
    int64_t tiles = batches * perBatch;
    auto [tileA, tileB] = sharedTiles(module, elem);

    MLIRContext *ctx = op.getContext();
    Type i32 = IntegerType::get(ctx, 32);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    func::FuncOp numThreads =
        declare(module, "omp_get_num_threads", FunctionType::get(ctx, {}, {i32}));
    func::FuncOp barrier =
        declare(module, "__kmpc_barrier", FunctionType::get(ctx, {ptr, i32}, {}));

    OpBuilder b(op);
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = cst(0), one = cst(1);
    auto par = scf::ParallelOp::create(b, loc, ValueRange{zero}, ValueRange{cst(tiles * T)},
                                       ValueRange{one});
    b.setInsertionPointToStart(par.getBody());
    Value iv = par.getInductionVars()[0];
    auto div = [&](Value x, int64_t d) { return arith::DivUIOp::create(b, loc, x, cst(d)); };
    auto rem = [&](Value x, int64_t d) { return arith::RemUIOp::create(b, loc, x, cst(d)); };
    auto mul = [&](Value x, int64_t f) { return arith::MulIOp::create(b, loc, x, cst(f)); };
    auto add = [&](Value x, Value y) -> Value { return arith::AddIOp::create(b, loc, x, y); };

    // A team of another size would break the iteration -> (tile, thread) map.
    Value team = func::CallOp::create(b, loc, numThreads).getResult(0);
    Value wrong = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, team,
                                        arith::ConstantIntOp::create(b, loc, i32, T));
    auto check = scf::IfOp::create(b, loc, wrong, /*withElse=*/false);
    b.setInsertionPointToStart(check.thenBlock());
    LLVM::Trap::create(b, loc);
    b.setInsertionPointAfter(check);

    Value tile = div(iv, T), t = rem(iv, T);
    // The batch (batch_matmul) leads every index; a matmul has none.
    Value batch = batched ? Value(div(tile, perBatch)) : Value();
    if (batched)
      tile = rem(tile, perBatch);
    auto at = [&](Value i, Value j) -> SmallVector<Value> {
      if (batched)
        return {batch, i, j};
      return {i, j};
    };
    Value row0 = mul(div(tile, tilesN), blockM), col0 = mul(rem(tile, tilesN), blockN);
    Value ty = div(t, colThreads), tx = rem(t, colThreads);
    Value aOffset = mul(ty, threadM), bOffset = mul(tx, threadN);
    Value rowT = add(row0, aOffset), colT = add(col0, bOffset);
    auto rowType = VectorType::get({threadN}, elem);
    int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
    // Exact sizes: a thread's C row starts at a multiple of thread-n elements
    // (N is a multiple of block-n), aligned to the lowest set bit of its bytes.
    int64_t rowBytes = threadN * elemBytes;
    llvm::MaybeAlign rowAlign(std::min<int64_t>(16, rowBytes & -rowBytes));
    auto colType = VectorType::get({threadM}, elem);

    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
    auto below = [&](Value i, int64_t limit) -> Value {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, cst(limit));
    };
    // `load()` where `inside` holds, else a vector of zeros.
    auto orZeros = [&](Value inside, VectorType type,
                       function_ref<Value()> load) -> Value {
      auto guard = scf::IfOp::create(b, loc, TypeRange{type}, inside, /*withElse=*/true);
      OpBuilder::InsertionGuard keep(b);
      b.setInsertionPointToStart(guard.thenBlock());
      scf::YieldOp::create(b, loc, ValueRange{load()});
      b.setInsertionPointToStart(guard.elseBlock());
      scf::YieldOp::create(
          b, loc, ValueRange{arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type))});
      return guard.getResult(0);
    };
    // A row of `type` at (i, j): a vector load where the sizes are exact,
    // else zero past `rows` and past the memref's last column.
    auto read = [&](Value mem, Value i, Value j, VectorType type, int64_t rows,
                    llvm::MaybeAlign al) -> Value {
      if (exact)
        return vector::LoadOp::create(b, loc, type, mem, at(i, j), false, al);
      return orZeros(below(i, rows), type, [&]() -> Value {
        return vector::TransferReadOp::create(b, loc, type, mem, at(i, j), padding,
                                              ArrayRef<bool>{false});
      });
    };
    auto write = [&](Value v, Value i, Value j) {
      if (exact) {
        vector::StoreOp::create(b, loc, v, C, at(i, j), false, rowAlign);
        return;
      }
      auto guard = scf::IfOp::create(b, loc, below(i, M), /*withElse=*/false);
      OpBuilder::InsertionGuard keep(b);
      b.setInsertionPointToStart(guard.thenBlock());
      vector::TransferWriteOp::create(b, loc, v, C, at(i, j), ArrayRef<bool>{false});
    };

    SmallVector<Value> init;
    for (int64_t m = 0; m < threadM; ++m)
      init.push_back(read(C, add(rowT, cst(m)), colT, rowType, M, rowAlign));
    Value nullPtr = LLVM::ZeroOp::create(b, loc, ptr);
    Value tid32 = arith::IndexCastUIOp::create(b, loc, i32, t);
    auto kLoop = scf::ForOp::create(b, loc, zero, cst(ceilDiv(K, bk) * bk), cst(bk), init);
    b.setInsertionPointToStart(kLoop.getBody());
    Value kb = kLoop.getInductionVar();
    Value sharedA = memref::GetGlobalOp::create(b, loc, tileA.getType(), tileA.getSymName());
    Value sharedB = memref::GetGlobalOp::create(b, loc, tileB.getType(), tileB.getSymName());
    // Stage the tiles: consecutive threads read consecutive vectors of
    // `width` elements (with exact sizes, 16-byte loads: every offset is a
    // multiple of the width, since K and N are multiples of the block sizes).
    int64_t width = stagingWidth(elem);
    llvm::MaybeAlign align(width * elemBytes);
    auto wideType = VectorType::get({width}, elem);
    // A convolution's A vectors run along the input's channels: full width
    // where the channel count is a multiple of it.
    int64_t widthA = conv && conv->channels % width ? 1 : width;
    auto typeA = VectorType::get({widthA}, elem);
    auto gather = [&](Value m, Value k) -> Value {
      int64_t pixels = conv->outH * conv->outW, row = conv->kernelW * conv->channels;
      Value img = div(m, pixels), pix = rem(m, pixels);
      Value kh = div(k, row), kr = rem(k, row);
      Value ih = add(mul(div(pix, conv->outW), conv->strideH), mul(kh, conv->dilationH));
      Value iw = add(mul(rem(pix, conv->outW), conv->strideW),
                     mul(div(kr, conv->channels), conv->dilationW));
      SmallVector<Value> at4 = {img, ih, iw, rem(kr, conv->channels)};
      llvm::MaybeAlign al(widthA * elemBytes);
      auto load = [&]() -> Value {
        return vector::LoadOp::create(b, loc, typeA, A, at4, false, al);
      };
      if (exact)
        return load();
      return orZeros(arith::AndIOp::create(b, loc, below(m, M), below(k, K)), typeA, load);
    };
    for (int64_t s = 0; s < blockM * bk / widthA / T; ++s) {
      Value e = add(t, cst(s * T));
      Value r = div(e, bk / widthA), c = mul(rem(e, bk / widthA), widthA);
      Value v = conv ? gather(add(row0, r), add(kb, c))
                     : read(A, add(row0, r), add(kb, c), wideType, M, align);
      // Transposed into the tile: one store per element.
      for (int64_t q = 0; q < widthA; ++q) {
        Value x = vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{q});
        memref::StoreOp::create(b, loc, x, sharedA, ValueRange{add(c, cst(q)), r});
      }
    }
    for (int64_t s = 0; s < bk * blockN / width / T; ++s) {
      Value e = add(t, cst(s * T));
      Value r = div(e, blockN / width), c = mul(rem(e, blockN / width), width);
      Value v = read(B, add(kb, r), add(col0, c), wideType, K, align);
      vector::StoreOp::create(b, loc, v, sharedB, ValueRange{r, c}, false, align);
    }
    func::CallOp::create(b, loc, barrier, ValueRange{nullPtr, tid32});
    SmallVector<Value> acc(kLoop.getRegionIterArgs().begin(),
                           kLoop.getRegionIterArgs().end());
    for (int64_t k = 0; k < bk; ++k) {
      Value a = vector::LoadOp::create(b, loc, colType, sharedA, ValueRange{cst(k), aOffset});
      Value bRow =
          vector::LoadOp::create(b, loc, rowType, sharedB, ValueRange{cst(k), bOffset});
      for (int64_t m = 0; m < threadM; ++m) {
        Value am = vector::ExtractOp::create(b, loc, a, ArrayRef<int64_t>{m});
        Value splat = vector::BroadcastOp::create(b, loc, rowType, am);
        acc[m] = vector::FMAOp::create(b, loc, splat, bRow, acc[m]);
      }
    }
    func::CallOp::create(b, loc, barrier, ValueRange{nullPtr, tid32});
    scf::YieldOp::create(b, loc, acc);
    b.setInsertionPointAfter(kLoop);
    for (int64_t m = 0; m < threadM; ++m)
      write(kLoop.getResult(m), add(rowT, cst(m)), colT);
    std::string what = conv      ? "conv_2d_nhwc_hwcf as matmul "
                       : batched ? "batch matmul " + std::to_string(batches) + "x"
                                 : "matmul ";
    emitRemark(loc) << "mlirboot: " << what << M << "x" << K << "x" << N << " -> " << tiles
                    << " team tiles of " << int64_t(blockM) << "x" << int64_t(blockN) << " ("
                    << T << " threads, " << int64_t(threadM) << "x" << int64_t(threadN)
                    << " per thread, k by " << bk << " in team-shared memory"
                    << (exact ? "" : "; edge tiles guarded") << ")";
    op.erase();
  }

  void runOnOperation() override {
    if (blockM % threadM || blockN % threadN || (blockM * blockK) % threads() ||
        (blockK * blockN) % threads()) {
      getOperation().emitError("mlirboot-gpu-matmul: block sizes must be multiples of "
                               "the thread tile, and each staged tile a multiple of the "
                               "team size");
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> found;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (qualifies(op))
        found.push_back(op);
    });
    for (linalg::LinalgOp op : found)
      rewrite(op, getOperation());
  }
};

} // namespace mlirboot_gpu_matmul

void mlirboot::registerGpuMatmulPass() { PassRegistration<mlirboot_gpu_matmul::GpuMatmulPass>(); }
