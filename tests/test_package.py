"""The ROS 2 package metadata: what colcon and ament need to build, install and find fuse_ros."""

import configparser
from pathlib import Path

from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parent.parent


def test_package_xml_is_valid_format_3_ament_python():
    package = parse_package(ROOT / "package.xml")
    package.validate()  # raises InvalidPackage with the reason
    assert package.package_format == 3
    assert package.name == "fuse_ros"
    assert package.get_build_type() == "ament_python"
    assert "python3-pytest" in {d.name for d in package.test_depends}


def test_setup_cfg_puts_executables_where_ros2_run_looks():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["develop"]["script_dir"] == "$base/lib/fuse_ros"
    assert cfg["install"]["install_scripts"] == "$base/lib/fuse_ros"


def test_ament_resource_marker_and_loopback_dds_config_ship():
    assert (ROOT / "resource" / "fuse_ros").is_file()
    xml = (ROOT / "launch" / "cyclonedds_loopback.xml").read_text()
    assert '<NetworkInterface name="lo"/>' in xml and "<AllowMulticast>false" in xml


def test_versions_agree():
    import fuse_ros

    assert parse_package(ROOT / "package.xml").version == fuse_ros.__version__
