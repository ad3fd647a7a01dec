#include "widget.h"

Widget::Widget(const char* name, const restrack::Kind& kind) : name_(name) {
  guard_.open(kind, this, &Widget::describe);
}

Widget::~Widget() {
  guard_.release_and_warn([]() noexcept {});  // reports only if still open
}

void Widget::close() { guard_.close(); }

void Widget::use() const { guard_.check_use(); }

std::string Widget::describe(const void* self) { return static_cast<const Widget*>(self)->name_; }
