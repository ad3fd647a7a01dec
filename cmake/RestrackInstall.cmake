# Install rules and the package config, so that find_package(restrack CONFIG) works
# against an install prefix.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_restrack_targets restrack_tracker)
foreach(_target restrack_proactor restrack_gtest restrack_gtest_main)
  if(TARGET ${_target})
    list(APPEND _restrack_targets ${_target})
  endif()
endforeach()

install(TARGETS ${_restrack_targets} EXPORT restrackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The report tool (tools/report) is installed as a program; its library stays internal.
if(TARGET restrack-report)
  install(TARGETS restrack-report RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY tracker/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  PATTERN "*.in" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/restrack/build_config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/restrack)
foreach(_dir proactor/include integrations/gtest/include)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${_dir})
    install(DIRECTORY ${_dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

configure_package_config_file(cmake/restrackConfig.cmake.in
  ${PROJECT_BINARY_DIR}/restrackConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/restrack)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/restrackConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(EXPORT restrackTargets NAMESPACE restrack::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/restrack)
install(FILES ${PROJECT_BINARY_DIR}/restrackConfig.cmake
  ${PROJECT_BINARY_DIR}/restrackConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/restrack)
if(WIN32)
  install(FILES cmake/restrackWindowsDependencies.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/restrack)
endif()
