# Included after Enzyme's project() (CMAKE_PROJECT_Enzyme_INCLUDE) when
# ENZYME_MLIR is on. Enzyme-MLIR's analysis library includes the dialect's
# generated headers (Dialect/EnzymeOps*.h.inc) but does not depend on the
# tablegen targets that write them, so a parallel build can compile it first:
# "fatal error: 'Dialect/EnzymeOpsTypes.h.inc' file not found" (seen at
# 614878d3 when enzymemlir-opt and LLVMEnzyme-22 are built together). The
# missing edges are added once every target exists: at the end of the top
# directory.
function(mlirboot_enzyme_mlir_deps)
  foreach(lib IN ITEMS obj.MLIREnzymeAnalysis MLIREnzymeAnalysis)
    if(NOT TARGET ${lib})
      continue()
    endif()
    foreach(gen IN ITEMS MLIREnzymeOpsIncGen MLIREnzymeEnumsIncGen MLIREnzymeAttributesIncGen)
      if(TARGET ${gen})
        add_dependencies(${lib} ${gen})
      endif()
    endforeach()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL mlirboot_enzyme_mlir_deps)
