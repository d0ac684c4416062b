//===- OffloadNests.cpp - parallel loop nests -> offload kernels ----------===//
//
// mlirboot-offload-nests{entry=F maps=K,... kernel-file=PATH composite=B}:
// splits the entry function (memrefs, after convert-scf-to-openmp) into
// offload kernels, one `omp.target` per segment of its body:
//
//   * each top-level `omp.parallel { omp.wsloop { omp.loop_nest } }` (a
//     parallel loop nest, no clauses) becomes, with composite=true, its own
//     kernel in the composite form LLVM's Flang emits for
//     `target teams distribute parallel do`:
//       omp.target host_eval(%lb -> .., %ub -> .., %step -> ..) map_entries(..) {
//         omp.teams { omp.parallel { omp.distribute { omp.wsloop {
//           omp.loop_nest ... } {omp.composite} } {omp.composite} } {omp.composite} } }
//     The loop bounds reach the region through host_eval (the host computes
//     the trip count for the launch; as constants inside the region the host
//     translation crashes in OpenMPIRBuilder), which allows one loop nest per
//     target region -- hence one kernel per nest. Such a kernel runs in SPMD
//     mode on GPUs.
//   * every maximal run of other ops (serial loops, calls, nests with
//     clauses such as reductions) becomes one plain `omp.target` (a Generic
//     kernel: one thread runs it; nested omp.parallel regions still fork).
//
// Data: the buffers ("roots": the entry's memref arguments and its top-level
// static memref.alloc / memref.alloca temporaries) are mapped once around all kernels by an
// `omp.target_data` (arguments with the kinds in `maps`: to / from / tofrom;
// temporaries device-allocated, never copied), and every kernel maps the
// roots it uses again (present: no copy). Inside a kernel a root is rebuilt
// from its mapped pointer as a static memref descriptor; views of roots and
// other side-effect-free values (constants, subviews, get_global) are
// cloned into the kernel that uses them. A value made by side-effecting code
// of one segment and used in another (e.g. an alloca) merges the segments
// in between into one Generic kernel (correct; serial apart from the
// nests' own omp.parallel). Kernel i gets the location `kernel-file`:i:1: the
// kernel's name comes from it and must agree between host and device
// translations.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

namespace mlirboot_offload {

struct OffloadNestsPass : public PassWrapper<OffloadNestsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(OffloadNestsPass)

  OffloadNestsPass() = default;
  OffloadNestsPass(const OffloadNestsPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "mlirboot-offload-nests"; }
  StringRef getDescription() const final {
    return "Split the entry into omp.target kernels: one composite teams/distribute/"
           "parallel/wsloop kernel per parallel loop nest, one Generic kernel per "
           "run of other code, data mapped once by omp.target_data";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<omp::OpenMPDialect, LLVM::LLVMDialect, arith::ArithDialect,
                    memref::MemRefDialect>();
  }

  Option<std::string> entry{*this, "entry", llvm::cl::desc("entry function")};
  ListOption<std::string> maps{
      *this, "maps", llvm::cl::desc("map kind per entry argument: to, from or tofrom")};
  Option<std::string> kernelFile{
      *this, "kernel-file",
      llvm::cl::desc("file of the kernels' locations (an existing file: kernel names "
                     "derive from it)")};
  Option<bool> composite{*this, "composite",
                         llvm::cl::desc("parallel nests -> composite teams/distribute "
                                        "kernels (false: they stay in Generic kernels)"),
                         llvm::cl::init(true)};

  // --- classification --------------------------------------------------------

  static bool isStaticRoot(MemRefType type) {
    return type.hasStaticShape() && type.getLayout().isIdentity() && !type.getMemorySpace();
  }

  /// omp.parallel { omp.wsloop { omp.loop_nest } } without clauses, bounds
  /// defined outside.
  static omp::LoopNestOp simpleNest(Operation *op) {
    auto par = dyn_cast<omp::ParallelOp>(op);
    if (!par || par->getNumOperands() != 0 || par.getRegion().getBlocks().size() != 1)
      return {};
    Block &block = par.getRegion().front();
    if (block.getNumArguments() != 0 || block.getOperations().size() != 2)
      return {};
    auto ws = dyn_cast<omp::WsloopOp>(block.front());
    if (!ws || ws->getNumOperands() != 0 || ws.getScheduleKind() || ws.getOrdered() ||
        ws.getNowait() || ws.getOrder())
      return {};
    auto nest = dyn_cast<omp::LoopNestOp>(ws.getWrappedLoop());
    if (!nest || nest.getRegion().getBlocks().size() != 1 || nest.getLoopInclusive())
      return {};
    for (Value v : nest->getOperands())
      if (par->isAncestor(v.getParentRegion()->getParentOp()))
        return {};
    return nest;
  }

  // --- building -----------------------------------------------------------------

  static uint64_t staticBytes(MemRefType type) {
    unsigned bits = type.getElementTypeBitWidth();
    return type.getNumElements() * ((bits + 7) / 8);
  }

  omp::MapInfoOp mapInfo(OpBuilder &b, Location loc, Value hostPtr, MemRefType type,
                         omp::ClauseMapFlags kind, StringRef name) {
    MLIRContext *ctx = b.getContext();
    Type ptrTy = LLVM::LLVMPointerType::get(ctx);
    Type varTy = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), staticBytes(type));
    return b.create<omp::MapInfoOp>(loc, ptrTy, hostPtr, varTy, kind,
                                    omp::VariableCaptureKind::ByRef, /*var_ptr_ptr=*/Value(),
                                    ValueRange(), /*members_index=*/ArrayAttr(), ValueRange(),
                                    /*mapper_id=*/FlatSymbolRefAttr(), b.getStringAttr(name),
                                    false);
  }

  /// A static identity-layout memref over `ptr` (what convert-func-to-llvm's
  /// bare-pointer convention builds for an argument).
  static Value descriptorOf(OpBuilder &b, Location loc, Value ptr, MemRefType type) {
    MLIRContext *ctx = b.getContext();
    Type i64 = b.getI64Type();
    Type ptrTy = LLVM::LLVMPointerType::get(ctx);
    int64_t rank = type.getRank();
    SmallVector<Type> fields{ptrTy, ptrTy, i64};
    if (rank > 0) {
      fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
      fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    }
    auto structTy = LLVM::LLVMStructType::getLiteral(ctx, fields);
    Value desc = b.create<LLVM::PoisonOp>(loc, structTy);
    desc = b.create<LLVM::InsertValueOp>(loc, desc, ptr, ArrayRef<int64_t>{0});
    desc = b.create<LLVM::InsertValueOp>(loc, desc, ptr, ArrayRef<int64_t>{1});
    auto cst = [&](int64_t v) { return b.create<LLVM::ConstantOp>(loc, i64, v).getResult(); };
    desc = b.create<LLVM::InsertValueOp>(loc, desc, cst(0), ArrayRef<int64_t>{2});
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t i = rank - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * type.getDimSize(i + 1);
    for (int64_t i = 0; i < rank; ++i) {
      desc = b.create<LLVM::InsertValueOp>(loc, desc, cst(type.getDimSize(i)),
                                           ArrayRef<int64_t>{3, i});
      desc = b.create<LLVM::InsertValueOp>(loc, desc, cst(strides[i]), ArrayRef<int64_t>{4, i});
    }
    return b.create<UnrealizedConversionCastOp>(loc, TypeRange{type}, desc).getResult(0);
  }

  struct Roots {
    SmallVector<Value> values;            // in map order
    DenseMap<Value, unsigned> index;      // value -> position
    SmallVector<omp::ClauseMapFlags> kinds;
    SmallVector<Value> hostPtrs;
  };

  /// Roots that `ops` (and the side-effect-free values they use) reach.
  static void rootsUsed(ArrayRef<Operation *> ops, const Roots &roots,
                        const DenseSet<Operation *> &remat, SetVector<Value> &out) {
    SmallVector<Value> work;
    for (Operation *op : ops)
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          work.push_back(v);
      });
    DenseSet<Value> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!seen.insert(v).second)
        continue;
      if (roots.index.count(v)) {
        out.insert(v);
        continue;
      }
      if (Operation *def = v.getDefiningOp(); def && remat.count(def))
        for (Value operand : def->getOperands())
          work.push_back(operand);
    }
  }

  /// The team size a nest's team-shared buffers were laid out for
  /// (`mlirboot.team_threads` on a memref.global it reads), or 0.
  static int64_t teamThreadsOf(omp::LoopNestOp loop, ModuleOp module) {
    int64_t threads = 0;
    loop->walk([&](memref::GetGlobalOp get) {
      auto global = module.lookupSymbol<memref::GlobalOp>(get.getNameAttr());
      if (auto attr = global ? global->getAttrOfType<IntegerAttr>("mlirboot.team_threads")
                             : IntegerAttr())
        threads = attr.getInt();
    });
    return threads;
  }

  LogicalResult runOn(func::FuncOp func);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "mlirboot: no entry function @" << entry << " with a body";
      return signalPassFailure();
    }
    if (failed(runOn(func)))
      signalPassFailure();
  }
};

LogicalResult OffloadNestsPass::runOn(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  if (func.getBody().getBlocks().size() != 1)
    return func.emitError("mlirboot: the entry has more than one block");
  Block &body = func.getBody().front();
  if (maps.size() != func.getNumArguments())
    return func.emitError() << "mlirboot: maps= lists " << maps.size() << " kinds for "
                            << func.getNumArguments() << " arguments";

  // Roots: memref arguments, then top-level static temporaries that are
  // freed (if at all) only by a top-level memref.dealloc.
  Roots roots;
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    auto type = dyn_cast<MemRefType>(arg.getType());
    if (!type || !isStaticRoot(type))
      return func.emitError() << "mlirboot: argument " << i
                              << " is not a static identity-layout memref";
    StringRef kind = maps[i];
    omp::ClauseMapFlags flags;
    if (kind == "to")
      flags = omp::ClauseMapFlags::to;
    else if (kind == "from")
      flags = omp::ClauseMapFlags::from;
    else if (kind == "tofrom")
      flags = omp::ClauseMapFlags::to | omp::ClauseMapFlags::from;
    else
      return func.emitError() << "mlirboot: unknown map kind `" << kind << "`";
    roots.index[arg] = roots.values.size();
    roots.values.push_back(arg);
    roots.kinds.push_back(flags);
  }
  // (A top-level memref.alloca -- promote-buffers-to-stack's -- is a root
  // too: its host stack slot keys a device buffer shared by the kernels'
  // threads, where a device stack slot would be one thread's own.)
  SmallVector<Operation *> rootAllocs;
  SmallVector<Operation *> rootDeallocs;
  for (Operation &op : body) {
    if (!isa<memref::AllocOp, memref::AllocaOp>(op) || op.getNumOperands() != 0 ||
        !isStaticRoot(cast<MemRefType>(op.getResult(0).getType())))
      continue;
    Value alloc = op.getResult(0);
    bool ok = llvm::all_of(alloc.getUses(), [&](OpOperand &use) {
      return !isa<memref::DeallocOp>(use.getOwner()) || use.getOwner()->getBlock() == &body;
    });
    if (!ok)
      continue;
    rootAllocs.push_back(&op);
    roots.index[alloc] = roots.values.size();
    roots.values.push_back(alloc);
    roots.kinds.push_back(omp::ClauseMapFlags::storage);
    for (Operation *user : alloc.getUsers())
      if (isa<memref::DeallocOp>(user))
        rootDeallocs.push_back(user);
  }
  DenseSet<Operation *> rootDeallocSet(rootDeallocs.begin(), rootDeallocs.end());
  Operation *ret = body.getTerminator();

  // Side-effect-free ops over roots and constants: cloned where used.
  DenseSet<Operation *> remat;
  SmallVector<Operation *> placed;
  for (Operation &op : body) {
    if (&op == ret || rootDeallocSet.count(&op) ||
        (isa<memref::AllocOp, memref::AllocaOp>(op) && roots.index.count(op.getResult(0))))
      continue;
    bool pure = op.getNumRegions() == 0 && isMemoryEffectFree(&op) &&
                llvm::all_of(op.getOperands(), [&](Value v) {
                  if (roots.index.count(v))
                    return true;
                  Operation *def = v.getDefiningOp();
                  return def && remat.count(def);
                });
    if (pure)
      remat.insert(&op);
    else
      placed.push_back(&op);
  }

  // Segments: each simple nest alone, runs of other placed ops together.
  SmallVector<int> seg(placed.size());
  SmallVector<bool> isNest(placed.size());
  int next = -1;
  for (auto [i, op] : llvm::enumerate(placed)) {
    bool nest = composite && simpleNest(op);
    if (nest) {
      // The bounds must be computable on the host before the launch.
      auto loop = simpleNest(op);
      for (Value v : loop->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (!def || !remat.count(def))
          nest = false;
      }
    }
    isNest[i] = nest;
    if (nest || i == 0 || isNest[i - 1])
      ++next;
    seg[i] = next;
  }
  DenseMap<Operation *, unsigned> position;
  for (auto [i, op] : llvm::enumerate(placed))
    position[op] = i;
  // Merge segments that pass a value made by side-effecting code.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto [i, op] : llvm::enumerate(placed)) {
      int low = seg[i];
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands()) {
          Operation *def = v.getDefiningOp();
          if (!def)
            continue;
          Operation *top = body.findAncestorOpInBlock(*def);
          if (!top || top == op)
            continue;
          auto it = position.find(top);
          if (it != position.end())
            low = std::min(low, seg[it->second]);
        }
      });
      if (low == seg[i])
        continue;
      int high = seg[i];
      for (auto [j, other] : llvm::enumerate(placed))
        if (seg[j] >= low && seg[j] <= high) {
          if (isNest[j] || seg[j] != low)
            changed = true;
          seg[j] = low;
          isNest[j] = false;
        }
    }
  }

  // Host side: temporaries first, their pointers and the data region.
  OpBuilder b(ctx);
  Location floc = func.getLoc();
  DenseSet<Operation *> rootAllocSet;
  for (Operation *alloc : rootAllocs)
    rootAllocSet.insert(alloc);
  Operation *anchor = &body.front();
  while (rootAllocSet.count(anchor))
    anchor = anchor->getNextNode();
  for (Operation *alloc : rootAllocs)
    alloc->moveBefore(anchor);
  b.setInsertionPoint(anchor);
  Type ptrTy = LLVM::LLVMPointerType::get(ctx);
  for (Value root : roots.values) {
    Value idx = b.create<memref::ExtractAlignedPointerAsIndexOp>(floc, root);
    Value i64 = b.create<arith::IndexCastOp>(floc, b.getI64Type(), idx);
    roots.hostPtrs.push_back(b.create<LLVM::IntToPtrOp>(floc, ptrTy, i64));
  }
  auto name = [&](unsigned i) {
    return i < func.getNumArguments() ? "arg" + std::to_string(i)
                                      : "tmp" + std::to_string(i - func.getNumArguments());
  };
  Block *dataBlock = &body;
  if (!roots.values.empty()) {
    omp::TargetDataOperands clauses;
    for (auto [i, root] : llvm::enumerate(roots.values))
      clauses.mapVars.push_back(mapInfo(b, floc, roots.hostPtrs[i],
                                        cast<MemRefType>(root.getType()), roots.kinds[i],
                                        name(i)));
    auto data = b.create<omp::TargetDataOp>(floc, clauses);
    dataBlock = b.createBlock(&data.getRegion());
    // Everything but the host part, the frees and the return moves inside.
    SmallVector<Operation *> inside;
    for (Operation *op = data->getNextNode(); op && op != ret; op = op->getNextNode())
      if (!rootDeallocSet.count(op))
        inside.push_back(op);
    for (Operation *op : inside)
      op->moveBefore(dataBlock, dataBlock->end());
    b.setInsertionPointToEnd(dataBlock);
    b.create<omp::TerminatorOp>(floc);
    for (Operation *op : rootDeallocs)
      op->moveBefore(ret);
  }

  // One kernel per segment.
  int kernels = 0;
  for (size_t i = 0; i < placed.size();) {
    size_t j = i;
    while (j < placed.size() && seg[j] == seg[i])
      ++j;
    SmallVector<Operation *> ops(placed.begin() + i, placed.begin() + j);
    bool nest = isNest[i];
    i = j;
    ++kernels;
    Location kloc = kernelFile.empty()
                        ? ops.front()->getLoc()
                        : Location(FileLineColLoc::get(ctx, kernelFile, kernels, 1));

    SetVector<Value> used;
    rootsUsed(ops, roots, remat, used);
    b.setInsertionPoint(ops.front());
    omp::TargetOperands clauses;
    for (Value root : used) {
      unsigned k = roots.index[root];
      clauses.mapVars.push_back(mapInfo(b, floc, roots.hostPtrs[k],
                                        cast<MemRefType>(root.getType()), roots.kinds[k],
                                        name(k)));
    }
    omp::LoopNestOp loop = nest ? simpleNest(ops.front()) : omp::LoopNestOp();
    ModuleOp module = func->getParentOfType<ModuleOp>();
    int64_t teamThreads = 0;
    if (loop) {
      for (Value v : loop.getLoopLowerBounds())
        clauses.hostEvalVars.push_back(v);
      for (Value v : loop.getLoopUpperBounds())
        clauses.hostEvalVars.push_back(v);
      for (Value v : loop.getLoopSteps())
        clauses.hostEvalVars.push_back(v);
      // A nest that shares team memory (mlirboot-gpu-matmul's tiles) relies
      // on teams of exactly that many threads: thread_limit, through
      // host_eval like the bounds.
      teamThreads = teamThreadsOf(loop, module);
      if (teamThreads)
        clauses.hostEvalVars.push_back(b.create<arith::ConstantOp>(
            floc, b.getI32IntegerAttr(static_cast<int32_t>(teamThreads))));
    }
    auto target = b.create<omp::TargetOp>(kloc, clauses);
    SmallVector<Type> argTypes;
    for (Value v : clauses.hostEvalVars)
      argTypes.push_back(v.getType());
    for (size_t k = 0; k < used.size(); ++k)
      argTypes.push_back(ptrTy);
    SmallVector<Location> argLocs(argTypes.size(), floc);
    Block *tblock = b.createBlock(&target.getRegion(), {}, argTypes, argLocs);
    auto iface = cast<omp::BlockArgOpenMPOpInterface>(target.getOperation());
    DenseMap<Value, Value> rootArg;
    for (auto [k, root] : llvm::enumerate(used))
      rootArg[root] = iface.getMapBlockArgs()[k];

    Block *insertBlock = tblock;
    if (loop) {
      Location loc = ops.front()->getLoc();
      omp::TeamsOperands teamsClauses;
      if (teamThreads)
        teamsClauses.threadLimit = iface.getHostEvalBlockArgs().back();
      auto teams = b.create<omp::TeamsOp>(loc, teamsClauses);
      b.createBlock(&teams.getRegion());
      auto par = b.create<omp::ParallelOp>(loc, omp::ParallelOperands{});
      b.createBlock(&par.getRegion());
      auto dist = b.create<omp::DistributeOp>(loc, omp::DistributeOperands{});
      b.createBlock(&dist.getRegion());
      auto ws = b.create<omp::WsloopOp>(loc, omp::WsloopOperands{});
      Block *wsBlock = b.createBlock(&ws.getRegion());
      b.setInsertionPointAfter(dist);
      b.create<omp::TerminatorOp>(loc);
      b.setInsertionPointAfter(par);
      b.create<omp::TerminatorOp>(loc);
      cast<omp::ComposableOpInterface>(par.getOperation()).setComposite(true);
      cast<omp::ComposableOpInterface>(dist.getOperation()).setComposite(true);
      cast<omp::ComposableOpInterface>(ws.getOperation()).setComposite(true);
      loop->moveBefore(wsBlock, wsBlock->end());
      unsigned n = loop.getLoopLowerBounds().size();
      auto hostEval = iface.getHostEvalBlockArgs();
      SmallVector<Value> bounds(hostEval.begin(), hostEval.begin() + 3 * n);
      loop->setOperands(bounds);
      ops.front()->erase();
      insertBlock = &loop.getRegion().front();
      emitRemark(loc) << "mlirboot: parallel loop nest -> offload kernel " << kernels
                      << " (target teams distribute parallel for, " << n << " loops)";
    } else {
      for (Operation *op : ops)
        op->moveBefore(tblock, tblock->end());
    }
    b.setInsertionPointToEnd(tblock);
    b.create<omp::TerminatorOp>(kloc);

    // Values from outside: roots through their mapped pointers, the rest cloned.
    IRMapping mapping;
    b.setInsertionPointToStart(insertBlock);
    std::function<Value(Value)> materialize = [&](Value v) -> Value {
      if (Value known = mapping.lookupOrNull(v))
        return known;
      if (roots.index.count(v)) {
        Value m = descriptorOf(b, floc, rootArg.lookup(v), cast<MemRefType>(v.getType()));
        mapping.map(v, m);
        return m;
      }
      Operation *def = v.getDefiningOp();
      assert(def && remat.count(def) && "a kernel uses a value of another segment");
      for (Value operand : def->getOperands())
        materialize(operand);
      b.clone(*def, mapping);
      return mapping.lookup(v);
    };
    SetVector<Value> outside;
    getUsedValuesDefinedAbove(target.getRegion(), outside);
    for (Value v : outside) {
      Value inner = materialize(v);
      v.replaceUsesWithIf(inner, [&](OpOperand &use) {
        return target->isProperAncestor(use.getOwner());
      });
    }
  }
  if (kernels == 0) {
    b.setInsertionPoint(dataBlock == &body ? ret : dataBlock->getTerminator());
    auto target = b.create<omp::TargetOp>(
        kernelFile.empty() ? floc : Location(FileLineColLoc::get(ctx, kernelFile, 1, 1)),
        omp::TargetOperands{});
    b.createBlock(&target.getRegion());
    b.create<omp::TerminatorOp>(floc);
  }
  return success();
}

} // namespace mlirboot_offload

void mlirboot::registerOffloadNestsPass() {
  PassRegistration<mlirboot_offload::OffloadNestsPass>();
}
