#pragma once
// Small helpers shared by the test suites.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "slate/deb/deb_file.hpp"
#include "slate/error.hpp"

namespace slate::test {

// Runs `f`, which must throw slate::Error, and returns the error.
template <typename F>
Error error_from(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a slate::Error";
    return Error(ErrorCode::Internal, "nothing was thrown");
}

// Data entries of a .deb, as deb::read_deb returns them.
inline deb::DebEntry file_entry(std::string path, std::string content, std::uint32_t mode = 0644) {
    deb::DebEntry e;
    e.path = std::move(path);
    e.type = deb::EntryType::File;
    e.mode = mode;
    e.content = std::make_shared<const std::string>(std::move(content));
    return e;
}
inline deb::DebEntry dir_entry(std::string path, std::uint32_t mode = 0755) {
    deb::DebEntry e;
    e.path = std::move(path);
    e.type = deb::EntryType::Directory;
    e.mode = mode;
    return e;
}
inline deb::DebEntry link_entry(std::string path, std::string target) {
    deb::DebEntry e;
    e.path = std::move(path);
    e.type = deb::EntryType::Symlink;
    e.mode = 0777;
    e.link_target = std::move(target);
    return e;
}

}  // namespace slate::test
