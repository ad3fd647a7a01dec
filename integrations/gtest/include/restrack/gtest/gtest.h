// restrack/gtest/gtest.h — everything of restrack::gtest in one include.
#pragma once

#include "restrack/gtest/listener.h"
#include "restrack/gtest/scoped_check.h"
