# mlirboot: the installed LLVM's LLVMConfig.cmake (MLIRBOOT_LLVM_CMAKE_DIR),
# for a standalone runtimes build on top of it. The same package, except that
# LLVM_BINARY_DIR -- where LLVM's runtimes put files they generate, e.g. GPU
# libc's headers under include/<triple> -- is this build tree, as it is in an
# in-tree build, and never the installed LLVM.
include("${MLIRBOOT_LLVM_CMAKE_DIR}/LLVMConfig.cmake")
# runtimes/CMakeLists.txt drops the compiler's implicit include dirs under
# LLVM_BINARY_DIR (clang's resource headers) from CMake's list; keep doing that
# for the installed LLVM.
foreach(lang C CXX ASM)
  set(_mlirboot_kept "")
  foreach(_mlirboot_dir IN LISTS CMAKE_${lang}_IMPLICIT_INCLUDE_DIRECTORIES)
    cmake_path(IS_PREFIX LLVM_BINARY_DIR "${_mlirboot_dir}" NORMALIZE _mlirboot_under)
    if(NOT _mlirboot_under)
      list(APPEND _mlirboot_kept "${_mlirboot_dir}")
    endif()
  endforeach()
  set(CMAKE_${lang}_IMPLICIT_INCLUDE_DIRECTORIES "${_mlirboot_kept}")
endforeach()
set(LLVM_BINARY_DIR "${CMAKE_BINARY_DIR}")
