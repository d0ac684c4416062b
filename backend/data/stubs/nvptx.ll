; Generic-mode kernel entry without the OpenMP device runtime (Debian ships none
; for GPUs): thread 0 of block 0 runs the (serial) target region, every other
; thread returns right away (the kernel branches to its exit on any value but -1).
declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()

define i32 @__kmpc_target_init(ptr %kernel_env, ptr %launch_env) {
  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %b = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %tb = or i32 %t, %b
  %first = icmp eq i32 %tb, 0
  %r = select i1 %first, i32 -1, i32 0
  ret i32 %r
}

define void @__kmpc_target_deinit() {
  ret void
}
