# Modules: one static library per folder (common/<subject>, and each role), linking what it
# uses — PUBLIC what its headers expose, PRIVATE the rest — so the link graph is the
# dependency graph. Two checks keep it honest:
#   - at configure time, a cycle between hookpipe_* libraries is an error (CMake itself
#     allows cycles between static libraries);
#   - at build time (target hookpipe_module_check, before any module), a file that includes
#     `common/<m>/…` or `<role>/…` must be in hookpipe_<m> / hookpipe_<role> itself or in
#     a library that links it directly, and every `common/<m>/` included is a module.
# `cmake --graphviz=deps.dot build/release` draws the graph.

# hookpipe_module(<target> <sources>...): the library of the current folder. Without
# sources (headers only) it is an INTERFACE library: link its dependencies INTERFACE.
function(hookpipe_module name)
  if(ARGN)
    add_library(${name} STATIC ${ARGN})
    target_link_libraries(${name} PUBLIC hookpipe_base PRIVATE hookpipe_warnings)
  else()
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE hookpipe_base)
  endif()
  set_property(GLOBAL APPEND PROPERTY HOOKPIPE_MODULES ${name})
endfunction()

# The hookpipe_* libraries a module links directly (PUBLIC and PRIVATE).
function(_hookpipe_module_deps name out)
  get_target_property(type ${name} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(libs ${name} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(libs ${name} LINK_LIBRARIES)
  endif()
  get_property(modules GLOBAL PROPERTY HOOKPIPE_MODULES)
  set(deps)
  foreach(lib IN LISTS libs)
    if(lib IN_LIST modules)
      list(APPEND deps ${lib})
    endif()
  endforeach()
  set(${out} ${deps} PARENT_SCOPE)
endfunction()

function(_hookpipe_visit name path)
  if(name IN_LIST path)
    list(APPEND path ${name})
    list(JOIN path " -> " cycle)
    message(FATAL_ERROR "hookpipe modules: dependency cycle ${cycle}")
  endif()
  get_property(done GLOBAL PROPERTY _HOOKPIPE_ACYCLIC)
  if(name IN_LIST done)
    return()
  endif()
  _hookpipe_module_deps(${name} deps)
  set(next ${path})
  list(APPEND next ${name})
  foreach(dep IN LISTS deps)
    _hookpipe_visit(${dep} "${next}")
  endforeach()
  set_property(GLOBAL APPEND PROPERTY _HOOKPIPE_ACYCLIC ${name})
endfunction()

# Call once, after every module is defined.
function(hookpipe_check_modules)
  get_property(modules GLOBAL PROPERTY HOOKPIPE_MODULES)
  set(graph "")
  set(files)
  foreach(name IN LISTS modules)
    _hookpipe_visit(${name} "")
    _hookpipe_module_deps(${name} deps)
    get_target_property(dir ${name} SOURCE_DIR)
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.h ${dir}/*.cc)
    list(APPEND files ${sources})
    list(JOIN deps "," deps)
    list(JOIN sources "," sources)
    string(APPEND graph "${name}|${deps}|${sources}\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/hookpipe_modules.txt "${graph}")
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/hookpipe_modules.ok
    COMMAND ${CMAKE_COMMAND} -DGRAPH=${CMAKE_BINARY_DIR}/hookpipe_modules.txt
            -DSTAMP=${CMAKE_BINARY_DIR}/hookpipe_modules.ok
            -P ${PROJECT_SOURCE_DIR}/cmake/check_includes.cmake
    DEPENDS ${files} ${CMAKE_BINARY_DIR}/hookpipe_modules.txt
            ${PROJECT_SOURCE_DIR}/cmake/check_includes.cmake
    COMMENT "Checking that every module links what it includes")
  add_custom_target(hookpipe_module_check ALL DEPENDS ${CMAKE_BINARY_DIR}/hookpipe_modules.ok)
  # Every module depends on the check, so building any target runs it.
  add_dependencies(hookpipe_base hookpipe_module_check)
endfunction()
