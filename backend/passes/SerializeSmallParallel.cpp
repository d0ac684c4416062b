//===- SerializeSmallParallel.cpp - run small parallel loops serially -----===//
//
// mlirboot-serialize-small-parallel{min-work=N}: every outermost scf.parallel
// (one not nested in another scf.parallel) whose estimated work is below
// `min-work` becomes nested scf.for loops, and so does every scf.parallel
// inside it. On the host, convert-scf-to-openmp makes each scf.parallel a
// libomp fork/join; for a loop with little work (the matmul schedule's
// packing copies of a small or odd-shaped matmul) the fork/join costs more
// than the second thread saves. min-work=0 (the default) rewrites nothing.
//
// Work estimate, in operations executed, a vector op by its 64-byte pieces
// (no cost model beyond counting):
//   - an op counts the 64-byte pieces of its widest (fixed-size) vector
//     operand or result, 1 if it has none: one piece is about one machine
//     instruction (a vector<8x32xf32> multiply-add is 16 AVX-512 ones), so
//     scalar and vectorized code are weighed alike (a 128-lane shuffle
//     counted by elements made the packing copies look 50x their cost); a
//     terminator 0 (its regions, such as scf.reduce's combiners, are
//     counted);
//   - scf.for and scf.parallel with constant bounds and steps: the product of
//     their trip counts x (the work of their body + 1 for the loop itself);
//   - any other op with regions (scf.if, ...): 1 + the work of all its
//     regions (both branches of an if: an upper bound);
//   - unknown, so the loop stays parallel: a bound or step that is not a
//     constant, any other loop (scf.while, ...), a call (CallOpInterface)
//     and memref.copy (a library call); an scf.parallel without dimensions.
// Counts saturate at UINT64_MAX.
//
// Reductions are handled: each scf.reduce operand becomes an iter_arg of the
// loop nest (starting at the loop's init value) combined with the value of
// each iteration by the reduce region, in iteration order (a valid order of
// the parallel loop's unordered reduction).
//
// mlirboot-serialize-unsupported-reductions: every scf.parallel with a
// reduction that convert-scf-to-openmp cannot declare becomes scf.for loops
// the same way (its inner parallel loops stay parallel). LLVM 22's
// conversion recognizes a combiner only in the forms it knows a neutral
// value for: one addf/addi/ori/xori/andi/mulf/muli of the two block
// arguments, or a cmpf (olt/ole/ogt/oge) / cmpi + select min/max. Anything
// else (arith.maximumf, maxnumf, maxsi, a two-op combiner) made it leave the
// scf.parallel unconverted, and the compile failed ("unconverted operation
// found") at every -O level, on every target that runs the conversion. A
// serial loop computes the same values (the combiner applied in iteration
// order); a remark says which loop runs serially and why.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/MapVector.h"

#include <limits>
#include <optional>

using namespace mlir;

namespace mlirboot_serialize {

using Work = std::optional<uint64_t>; // std::nullopt: unknown

static uint64_t satAdd(uint64_t a, uint64_t b) {
  uint64_t sum = a + b;
  return sum < a ? std::numeric_limits<uint64_t>::max() : sum;
}

static uint64_t satMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return std::numeric_limits<uint64_t>::max();
  return a * b;
}

/// The trip count of lb..ub by step if all three are constants.
static std::optional<uint64_t> tripCount(Value lb, Value ub, Value step) {
  std::optional<int64_t> l = getConstantIntValue(lb);
  std::optional<int64_t> u = getConstantIntValue(ub);
  std::optional<int64_t> s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  if (*u <= *l)
    return 0;
  uint64_t span = static_cast<uint64_t>(*u) - static_cast<uint64_t>(*l);
  return (span + static_cast<uint64_t>(*s) - 1) / static_cast<uint64_t>(*s);
}

/// What one op counts: the 64-byte pieces of its widest vector operand or
/// result (about the machine instructions it stands for), at least 1.
static uint64_t pieces(Operation *op) {
  constexpr uint64_t kPieceBits = 512;
  uint64_t most = 1;
  auto widen = [&](Type type) {
    if (auto vec = dyn_cast<VectorType>(type))
      if (!vec.isScalable()) {
        uint64_t bits = satMul(static_cast<uint64_t>(vec.getNumElements()),
                               vec.getElementTypeBitWidth());
        most = std::max<uint64_t>(most, (bits + kPieceBits - 1) / kPieceBits);
      }
  };
  for (Type type : op->getOperandTypes())
    widen(type);
  for (Type type : op->getResultTypes())
    widen(type);
  return most;
}

static Work opWork(Operation *op);

static Work regionWork(Region &region) {
  uint64_t total = 0;
  for (Block &block : region)
    for (Operation &op : block) {
      Work w = opWork(&op);
      if (!w)
        return std::nullopt;
      total = satAdd(total, *w);
    }
  return total;
}

/// `trips` iterations of `body`, plus one op per iteration for the loop.
static Work loopWork(std::optional<uint64_t> trips, Region &body) {
  if (!trips)
    return std::nullopt;
  Work inner = regionWork(body);
  if (!inner)
    return std::nullopt;
  return satMul(*trips, satAdd(*inner, 1));
}

static Work opWork(Operation *op) {
  if (auto loop = dyn_cast<scf::ForOp>(op))
    return loopWork(tripCount(loop.getLowerBound(), loop.getUpperBound(),
                              loop.getStep()),
                    loop.getRegion());
  if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
    if (loop.getNumLoops() == 0)
      return std::nullopt;
    std::optional<uint64_t> trips = 1;
    for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(),
                                         loop.getUpperBound(), loop.getStep())) {
      std::optional<uint64_t> t = tripCount(lb, ub, step);
      trips = t ? std::optional<uint64_t>(satMul(*trips, *t)) : std::nullopt;
      if (!trips)
        break;
    }
    return loopWork(trips, loop.getRegion());
  }
  if (isa<LoopLikeOpInterface, CallOpInterface, memref::CopyOp>(op))
    return std::nullopt;
  uint64_t total = op->hasTrait<OpTrait::IsTerminator>() ? 0 : pieces(op);
  for (Region &region : op->getRegions()) {
    Work w = regionWork(region);
    if (!w)
      return std::nullopt;
    total = satAdd(total, *w);
  }
  return total;
}

/// scf.for loops from `lbs` to `ubs` (outermost dimension first, `op`'s
/// steps) carrying `inits` unchanged, with `op`'s body moved before the
/// innermost yield (its induction variables the loops'). The body's
/// scf.reduce is left there for the caller. The nest and that yield.
static std::pair<scf::LoopNest, scf::YieldOp>
nestAround(RewriterBase &rewriter, scf::ParallelOp op, ValueRange lbs,
           ValueRange ubs, ValueRange inits) {
  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, op.getLoc(), lbs, ubs, op.getStep(), inits,
      [](OpBuilder &, Location, ValueRange, ValueRange iters) {
        return scf::ValueVector(iters.begin(), iters.end());
      });
  auto yield =
      cast<scf::YieldOp>(nest.loops.back().getBody()->getTerminator());
  SmallVector<Value> ivs = llvm::map_to_vector(
      nest.loops, [](scf::ForOp loop) { return loop.getInductionVar(); });
  rewriter.inlineBlockBefore(op.getBody(), yield, ivs);
  return {nest, yield};
}

/// `op` as nested scf.for loops (outermost dimension first), its reductions
/// as iter_args combined by the reduce regions. Replaces and erases `op`.
static void serialize(RewriterBase &rewriter, scf::ParallelOp op) {
  rewriter.setInsertionPoint(op);
  auto reduce = cast<scf::ReduceOp>(op.getBody()->getTerminator());
  auto nested = nestAround(rewriter, op, op.getLowerBound(),
                           op.getUpperBound(), op.getInitVals());
  scf::LoopNest &nest = nested.first;
  scf::YieldOp yield = nested.second;
  scf::ForOp inner = nest.loops.back();
  SmallVector<Value> next;
  for (auto [i, value] : llvm::enumerate(reduce.getOperands())) {
    Block &combiner = reduce.getReductions()[i].front();
    auto ret = cast<scf::ReduceReturnOp>(combiner.getTerminator());
    Value combined = ret.getResult();
    rewriter.inlineBlockBefore(&combiner, yield,
                               {inner.getRegionIterArgs()[i], value});
    rewriter.eraseOp(ret);
    next.push_back(combined);
  }
  rewriter.eraseOp(reduce);
  rewriter.modifyOpInPlace(yield, [&] { yield->setOperands(next); });
  rewriter.replaceOp(op, nest.results);
}

/// The combiner block of reduction `i` of `reduce` applied to (acc, x),
/// cloned at `b`'s insertion point: the combined value.
static Value combine(OpBuilder &b, scf::ReduceOp reduce, unsigned i, Value acc,
                     Value x) {
  Block &combiner = reduce.getReductions()[i].front();
  IRMapping map;
  map.map(combiner.getArgument(0), acc);
  map.map(combiner.getArgument(1), x);
  for (Operation &op : combiner.without_terminator())
    b.clone(op, map);
  auto ret = cast<scf::ReduceReturnOp>(combiner.getTerminator());
  return map.lookupOrDefault(ret.getResult());
}

/// (seen ? combine(acc_i, x_i) : x_i) for every reduction, or with
/// `keepIfUnseen`, (seen ? combine(acc_i, x_i) : acc_i): one scf.if.
static ValueRange combineIfSeen(OpBuilder &b, Location loc,
                                scf::ReduceOp reduce, Value seen,
                                ValueRange acc, ValueRange x,
                                bool keepIfUnseen) {
  auto branch = scf::IfOp::create(b, loc, acc.getTypes(), seen,
                                  /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(branch.thenBlock());
  SmallVector<Value> combined;
  for (unsigned i = 0; i < acc.size(); ++i)
    combined.push_back(combine(b, reduce, i, acc[i], x[i]));
  scf::YieldOp::create(b, loc, combined);
  b.setInsertionPointToStart(branch.elseBlock());
  scf::YieldOp::create(b, loc, keepIfUnseen ? acc : x);
  return branch.getResults();
}

/// How many chunks reduceInChunks cuts a loop's first dimension into (at
/// most): enough for the cores of a host, few enough for stack slots.
constexpr int64_t kChunks = 64;

/// Whether `combiner` is one op x ⊕ x = x (max, min, and, or of the two
/// block arguments): then starting every chunk from the init value, which
/// the final fold adds once more, changes nothing.
static bool idempotent(Block &combiner) {
  if (combiner.getNumArguments() != 2 || combiner.getOperations().size() != 2)
    return false;
  Operation &op = combiner.front();
  auto ret = dyn_cast<scf::ReduceReturnOp>(combiner.back());
  return ret && ret.getResult() == op.getResult(0) &&
         op.getOperands() == combiner.getArguments() &&
         isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
             arith::MinNumFOp, arith::MaxSIOp, arith::MinSIOp, arith::MaxUIOp,
             arith::MinUIOp, arith::AndIOp, arith::OrIOp>(op);
}

/// `op` as a parallel loop without reductions over up to kChunks chunks of
/// its first dimension, and a serial loop after it. Each chunk runs its
/// iterations (its other dimensions as scf.for) combining their values in
/// iteration order and leaves the result in a stack slot; the serial loop
/// then folds the chunks' results into the initial values, in chunk order.
/// A chunk starts from the init values when every combiner is idempotent
/// (max, min, ...: a plain loop, which LLVM vectorizes); otherwise from the
/// first value it sees, with a flag slot saying whether it saw any (a
/// branch per iteration). scf.reduce's combiners are associative and
/// commutative (its contract), so this is a value the parallel loop may
/// compute; for the combiners this pass exists for (maximumf, minimumf,
/// maxsi, ...) it is the only one. The slots live in a memref.alloca_scope,
/// so a loop inside another loop does not grow the stack. Replaces and
/// erases `op`.
static void reduceInChunks(RewriterBase &rewriter, scf::ParallelOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto scope = memref::AllocaScopeOp::create(rewriter, loc, op.getResultTypes());
  rewriter.createBlock(&scope.getBodyRegion());
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  Value zero = cst(0), one = cst(1), most = cst(kChunks);
  Value lb = op.getLowerBound()[0], ub = op.getUpperBound()[0],
        step = op.getStep()[0];
  Value span = arith::MaxSIOp::create(
      rewriter, loc, arith::SubIOp::create(rewriter, loc, ub, lb), zero);
  Value trips = arith::CeilDivUIOp::create(rewriter, loc, span, step);
  Value size = arith::MaxUIOp::create(
      rewriter, loc, arith::CeilDivUIOp::create(rewriter, loc, trips, most),
      one);
  Value chunks = arith::CeilDivUIOp::create(rewriter, loc, trips, size);
  auto reduce = cast<scf::ReduceOp>(op.getBody()->getTerminator());
  bool flagged = !llvm::all_of(reduce.getReductions(), [](Region &region) {
    return idempotent(region.front());
  });
  SmallVector<Value> slots;
  if (flagged)
    slots.push_back(memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({kChunks}, rewriter.getI1Type())));
  for (Type type : op.getResultTypes())
    slots.push_back(memref::AllocaOp::create(
        rewriter, loc, MemRefType::get({kChunks}, type)));

  auto chunkLoop = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                           ValueRange{chunks}, ValueRange{one});
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(chunkLoop.getBody());
    Value c = chunkLoop.getInductionVars()[0];
    Value first = arith::MulIOp::create(rewriter, loc, c, size);
    Value last = arith::MinUIOp::create(
        rewriter, loc, arith::AddIOp::create(rewriter, loc, first, size), trips);
    auto at = [&](Value trip) -> Value {
      return arith::AddIOp::create(
          rewriter, loc, lb, arith::MulIOp::create(rewriter, loc, trip, step));
    };
    SmallVector<Value> lbs(op.getLowerBound()), ubs(op.getUpperBound());
    lbs[0] = at(first);
    ubs[0] = arith::MinSIOp::create(rewriter, loc, at(last), ub);
    auto flag = [&](bool value) -> SmallVector<Value> {
      if (!flagged)
        return {};
      return {arith::ConstantIntOp::create(rewriter, loc,
                                           rewriter.getI1Type(), value)};
    };
    SmallVector<Value> inits = flag(false);
    llvm::append_range(inits, op.getInitVals());
    auto nested = nestAround(rewriter, op, lbs, ubs, inits);
    scf::LoopNest &nest = nested.first;
    scf::YieldOp yield = nested.second;
    rewriter.setInsertionPoint(yield);
    ValueRange iters = nest.loops.back().getRegionIterArgs();
    SmallVector<Value> next = flag(true);
    if (flagged) {
      llvm::append_range(next, combineIfSeen(rewriter, loc, reduce, iters[0],
                                             iters.drop_front(),
                                             reduce.getOperands(),
                                             /*keepIfUnseen=*/false));
    } else {
      for (auto [i, value] : llvm::enumerate(reduce.getOperands()))
        next.push_back(combine(rewriter, reduce, i, iters[i], value));
    }
    rewriter.modifyOpInPlace(yield, [&] { yield->setOperands(next); });
    rewriter.setInsertionPointAfter(nest.loops.front());
    for (auto [slot, value] : llvm::zip(slots, nest.results))
      memref::StoreOp::create(rewriter, loc, value, slot, c);
    // The combiners are cloned above and below; this copy goes.
    rewriter.setInsertionPointAfter(chunkLoop);
    auto fold = scf::ForOp::create(
        rewriter, loc, zero, chunks, one, op.getInitVals(),
        [&](OpBuilder &b, Location loc, Value chunk, ValueRange acc) {
          SmallVector<Value> values;
          for (Value slot : slots)
            values.push_back(memref::LoadOp::create(b, loc, slot, chunk));
          if (flagged) {
            scf::YieldOp::create(
                b, loc,
                combineIfSeen(b, loc, reduce, values[0], acc,
                              ArrayRef<Value>(values).drop_front(),
                              /*keepIfUnseen=*/true));
            return;
          }
          SmallVector<Value> combined;
          for (auto [i, value] : llvm::enumerate(values))
            combined.push_back(combine(b, reduce, i, acc[i], value));
          scf::YieldOp::create(b, loc, combined);
        });
    memref::AllocaScopeReturnOp::create(rewriter, loc, fold.getResults());
    rewriter.eraseOp(reduce);
  }
  rewriter.replaceOp(op, scope.getResults());
}

struct SerializeSmallParallelPass
    : public PassWrapper<SerializeSmallParallelPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SerializeSmallParallelPass)

  SerializeSmallParallelPass() = default;
  SerializeSmallParallelPass(const SerializeSmallParallelPass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const final {
    return "mlirboot-serialize-small-parallel";
  }
  StringRef getDescription() const final {
    return "Rewrite outermost scf.parallel loops whose estimated work (ops executed, "
           "a vector op by its 64-byte pieces) is below min-work into nested scf.for loops";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect>();
  }

  Option<uint64_t> minWork{
      *this, "min-work",
      llvm::cl::desc("serialize parallel loops that execute fewer ops than "
                     "this (0: none)"),
      llvm::cl::init(0)};

  struct Seen {
    unsigned loops = 0;
    uint64_t least = std::numeric_limits<uint64_t>::max();
    uint64_t most = 0;
  };

  void runOnOperation() override {
    if (minWork == 0)
      return;
    SmallVector<std::pair<scf::ParallelOp, uint64_t>> outermost;
    getOperation()->walk<WalkOrder::PreOrder>([&](scf::ParallelOp op) {
      Work w = opWork(op);
      if (w && *w < minWork)
        outermost.push_back({op, *w});
      return WalkResult::skip(); // only the outermost ones
    });
    // One remark per location (a matmul's packing copies all carry the
    // matmul's), in program order.
    llvm::MapVector<Location, Seen> seen;
    IRRewriter rewriter(&getContext());
    for (auto [op, work] : outermost) {
      Seen &s = seen[op.getLoc()];
      ++s.loops;
      s.least = std::min(s.least, work);
      s.most = std::max(s.most, work);
      // Inner parallel loops first (post-order), then `op` itself.
      SmallVector<scf::ParallelOp> nest;
      op->walk([&](scf::ParallelOp p) { nest.push_back(p); });
      for (scf::ParallelOp p : nest)
        serialize(rewriter, p);
    }
    for (auto &[loc, s] : seen) {
      InFlightDiagnostic diag = emitRemark(loc) << "mlirboot: ";
      if (s.loops == 1)
        diag << "small parallel loop runs serially (work " << s.most;
      else
        diag << s.loops << " small parallel loops run serially (work "
             << s.least << "-" << s.most;
      diag << " ops < min-work=" << minWork.getValue() << ")";
    }
  }
};

/// Whether convert-scf-to-openmp (LLVM 22, SCFToOpenMP.cpp's
/// declareReduction) recognizes `combiner`: it must know a neutral value.
static bool openmpDeclares(Block &combiner) {
  if (combiner.getNumArguments() != 2 ||
      !isa<scf::ReduceReturnOp>(combiner.back()))
    return false;
  auto returned = cast<scf::ReduceReturnOp>(combiner.back()).getResult();
  Operation &first = combiner.front();
  size_t size = combiner.getOperations().size();
  // %r = op %a, %b (the block arguments, in order); scf.reduce.return %r
  if (size == 2)
    return isa<arith::AddFOp, arith::AddIOp, arith::OrIOp, arith::XOrIOp,
               arith::AndIOp, arith::MulFOp, arith::MulIOp>(first) &&
           first.getOperands() == combiner.getArguments() &&
           returned == first.getResult(0);
  // %c = cmp <less/greater> %a, %b; %r = select %c, %a, %b (or %b, %a)
  if (size != 3 || first.getOperands() != combiner.getArguments())
    return false;
  auto select = dyn_cast<arith::SelectOp>(first.getNextNode());
  if (!select || select.getCondition() != first.getResult(0) ||
      returned != select.getResult())
    return false;
  Value a = combiner.getArgument(0), b = combiner.getArgument(1);
  if (!((select.getTrueValue() == a && select.getFalseValue() == b) ||
        (select.getTrueValue() == b && select.getFalseValue() == a)))
    return false;
  if (auto cmp = dyn_cast<arith::CmpFOp>(first)) {
    using P = arith::CmpFPredicate;
    return llvm::is_contained({P::OLT, P::OLE, P::OGT, P::OGE},
                              cmp.getPredicate());
  }
  if (auto cmp = dyn_cast<arith::CmpIOp>(first)) {
    using P = arith::CmpIPredicate;
    return llvm::is_contained(
        {P::slt, P::sle, P::sgt, P::sge, P::ult, P::ule, P::ugt, P::uge},
        cmp.getPredicate());
  }
  return false;
}

/// The first op of the first combiner convert-scf-to-openmp cannot declare
/// (what the remark names), or null when it declares them all.
static Operation *undeclarable(scf::ParallelOp op) {
  auto reduce = cast<scf::ReduceOp>(op.getBody()->getTerminator());
  for (Region &region : reduce.getReductions())
    if (!openmpDeclares(region.front()))
      return &region.front().front();
  return nullptr;
}

struct SerializeUnsupportedReductionsPass
    : public PassWrapper<SerializeUnsupportedReductionsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(
      SerializeUnsupportedReductionsPass)

  SerializeUnsupportedReductionsPass() = default;
  SerializeUnsupportedReductionsPass(
      const SerializeUnsupportedReductionsPass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const final {
    return "mlirboot-serialize-unsupported-reductions";
  }
  StringRef getDescription() const final {
    return "Rewrite scf.parallel loops whose reductions convert-scf-to-openmp "
           "cannot declare (arith.maximumf, ...) into nested scf.for loops, "
           "or with chunks=true an outermost one into a parallel loop over "
           "chunks and a serial fold of their results";
  }

  Option<bool> chunks{
      *this, "chunks",
      llvm::cl::desc("an outermost loop keeps its first dimension parallel, "
                     "in chunks whose results a serial loop folds (stack "
                     "slots shared by the threads: the host only)"),
      llvm::cl::init(false)};
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<scf::SCFDialect>();
  }

  void runOnOperation() override {
    SmallVector<std::pair<scf::ParallelOp, Operation *>> found;
    getOperation()->walk([&](scf::ParallelOp op) {
      if (Operation *combiner = undeclarable(op))
        found.push_back({op, combiner});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, combiner] : found) { // post-order: inner loops first
      if (chunks && !op->getParentOfType<scf::ParallelOp>()) {
        emitRemark(op.getLoc())
            << "mlirboot: parallel loop reduces in up to " << kChunks
            << " chunks, then folds them serially: convert-scf-to-openmp has "
               "no OpenMP reduction for its combiner `"
            << combiner->getName() << "`";
        reduceInChunks(rewriter, op);
        continue;
      }
      emitRemark(op.getLoc())
          << "mlirboot: parallel loop runs serially: convert-scf-to-openmp "
             "has no OpenMP reduction for its combiner `"
          << combiner->getName() << "`";
      serialize(rewriter, op);
    }
  }
};

} // namespace mlirboot_serialize

void mlirboot::registerSerializeSmallParallelPass() {
  PassRegistration<mlirboot_serialize::SerializeSmallParallelPass>();
}

void mlirboot::registerSerializeUnsupportedReductionsPass() {
  PassRegistration<mlirboot_serialize::SerializeUnsupportedReductionsPass>();
}
