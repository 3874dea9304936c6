#include "call.h"
namespace convlab {
bool run_norm(int, Call&) { return false; }
}
