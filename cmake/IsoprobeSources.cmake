# isoprobe_sources(VAR file...): VAR becomes the listed files of the current folder, after a check
# that the list and the folder agree: a .cc or .h file that is not listed (it would silently not
# be built) or a listed file that is not there fails the configure, naming the file. The folder is
# globbed with CONFIGURE_DEPENDS, so a file added later fails the next build the same way.
function(isoprobe_sources var)
  set(listed ${ARGN})
  file(GLOB found CONFIGURE_DEPENDS RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}"
    "${CMAKE_CURRENT_SOURCE_DIR}/*.cc" "${CMAKE_CURRENT_SOURCE_DIR}/*.h")
  set(unlisted ${found})
  list(REMOVE_ITEM unlisted ${listed})
  set(absent ${listed})
  if(found)
    list(REMOVE_ITEM absent ${found})
  endif()
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  if(unlisted)
    list(JOIN unlisted ", " names)
    message(FATAL_ERROR "isoprobe: ${folder} has files its CMakeLists.txt does not list: ${names} (add them to the isoprobe_sources list in ${folder}/CMakeLists.txt)")
  endif()
  if(absent)
    list(JOIN absent ", " names)
    message(FATAL_ERROR "isoprobe: ${folder}/CMakeLists.txt lists files that are not there: ${names}")
  endif()
  set(${var} ${listed} PARENT_SCOPE)
endfunction()
