#include "../doctest_main.hpp"
