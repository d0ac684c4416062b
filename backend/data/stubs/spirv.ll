; Generic-mode kernel entry without the OpenMP device runtime: work-item 0 of
; work-group 0 runs the (serial) target region, the others exit.
declare spir_func i64 @_Z12get_local_idj(i32)
declare spir_func i64 @_Z12get_group_idj(i32)

define spir_func i32 @__kmpc_target_init(ptr %kernel_env, ptr %launch_env) {
  %t = call spir_func i64 @_Z12get_local_idj(i32 0)
  %b = call spir_func i64 @_Z12get_group_idj(i32 0)
  %tb = or i64 %t, %b
  %first = icmp eq i64 %tb, 0
  %r = select i1 %first, i32 -1, i32 0
  ret i32 %r
}

define spir_func void @__kmpc_target_deinit() {
  ret void
}
