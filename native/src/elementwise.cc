#include "call.h"
namespace convlab {
bool run_elementwise(int, Call&) { return false; }
}
