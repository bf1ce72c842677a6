// Boost.JSON compiled into this library (header-only mode), once for the project.
#include <boost/json/src.hpp>
